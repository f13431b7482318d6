// `rac shell`: the customer's login shell in a PTY (interactive) or one command (exec), over a ready
// ssh2 Client. Resolves with the exit status the way ssh reports it: the command's status, or
// 128 + n when a signal n ended it.
import { constants } from 'node:os';
import type { Client, ClientChannel } from 'ssh2';

export interface ShellTerminal {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; isRaw?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number; on(event: 'resize', fn: () => void): unknown };
  stderr: NodeJS.WritableStream;
  /** TERM for the remote PTY. */
  term?: string;
}

/** What ssh(1) exits with when the remote side sent neither a status nor a signal. */
export const EXIT_LOST = 255;

/** The exit status of a channel: its status, 128 + the signal's number, or 255. */
export function channelExit(channel: ClientChannel): Promise<number> {
  let status = EXIT_LOST;
  channel.on('exit', (code: number | null, signal?: string) => {
    if (typeof code === 'number') status = code;
    // ssh2 names the signal "SIGTERM" (the wire says "TERM").
    else if (signal) status = 128 + (constants.signals[`SIG${signal.replace(/^SIG/, '')}` as NodeJS.Signals] ?? 0);
  });
  return new Promise((resolve) => channel.once('close', () => resolve(status)));
}

/**
 * Words → one command line for the remote shell. One word is sent as it is (so `-- 'ls | wc -l'`
 * works like ssh); several are quoted each, so `-- sh -c 'exit 7'` keeps its argument whole.
 */
export function commandLine(words: string[]): string {
  if (words.length === 1) return words[0]!;
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs one command without a PTY: stdin to it, its stdout and stderr apart. */
export async function runRemoteCommand(client: Client, words: string[], terminal: ShellTerminal): Promise<number> {
  const channel = await new Promise<ClientChannel>((resolve, reject) =>
    client.exec(commandLine(words), (err, ch) => (err ? reject(err) : resolve(ch))),
  );
  return pipeChannel(channel, terminal);
}

/** The login shell in a PTY the size of the local terminal; raw mode while it runs, restored on every exit path. */
export async function runInteractiveShell(client: Client, terminal: ShellTerminal): Promise<number> {
  const { stdin, stdout } = terminal;
  const size = () => ({ rows: stdout.rows ?? 24, cols: stdout.columns ?? 80 });
  const channel = await new Promise<ClientChannel>((resolve, reject) =>
    client.shell({ term: terminal.term ?? 'xterm-256color', ...size(), width: 0, height: 0 }, (err, ch) =>
      err ? reject(err) : resolve(ch),
    ),
  );
  const restoreRaw = enterRawMode(stdin);
  const onResize = () => channel.setWindow(size().rows, size().cols, 0, 0);
  stdout.on('resize', onResize);
  try {
    return await pipeChannel(channel, terminal);
  } finally {
    (stdout as NodeJS.EventEmitter).off('resize', onResize);
    restoreRaw();
  }
}

function pipeChannel(channel: ClientChannel, terminal: ShellTerminal): Promise<number> {
  const { stdin, stdout, stderr } = terminal;
  const exit = channelExit(channel);
  channel.pipe(stdout, { end: false });
  channel.stderr.pipe(stderr, { end: false });
  stdin.pipe(channel);
  return exit.finally(() => {
    stdin.unpipe(channel);
    stdin.pause();
  });
}

/** Raw mode on a TTY; returns the undo, which also runs if the process exits first. */
function enterRawMode(stdin: ShellTerminal['stdin']): () => void {
  if (!stdin.isTTY || !stdin.setRawMode) return () => {};
  const wasRaw = stdin.isRaw ?? false;
  stdin.setRawMode(true);
  let restored = false;
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];
  // Killed while raw: put the terminal back, then die of the same signal.
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.kill(process.pid, signal);
  };
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    for (const s of signals) process.off(s, onSignal);
    try {
      stdin.setRawMode?.(wasRaw);
    } catch {
      // the terminal is gone: nothing to restore
    }
  };
  process.on('exit', restore);
  for (const s of signals) process.once(s, onSignal);
  return restore;
}

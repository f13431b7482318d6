// One SSH `session` channel: an optional PTY request and window changes, then a `shell`, an
// `exec` or the `sftp` subsystem. Programs run as the customer's user; their exit status (or the
// signal that ended them) goes back to the client. `env` requests are refused: the IT member's
// environment has no business on the customer's machine.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { ServerChannel, Session } from 'ssh2';
import { ActivityLine, type ShellUser } from './activity-log.js';
import { type Program, commandProgram, shellProgram } from './processes.js';
import { type Pty, type PtyModule, type TerminalSize, spawnPty, terminalSize } from './pty-session.js';
import { serveSftp } from './sftp-handler.js';
import type { TransferTally } from './transfer-tally.js';

export interface SessionContext {
  user: ShellUser;
  log(line: string): void;
  loadPty(): Promise<PtyModule | Error>;
  /** The connection's file transfers, told to the customer once however many channels carry them. */
  transfers: TransferTally;
}

interface PtyRequest {
  term: string;
  size: TerminalSize;
}

export function serveSession(session: Session, ctx: SessionContext): void {
  let ptyRequest: PtyRequest | undefined;
  let resize: ((size: TerminalSize) => void) | undefined;
  session.on('pty', (accept, _reject, info) => {
    ptyRequest = { term: info.term || 'xterm-256color', size: terminalSize(info.cols, info.rows) };
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    const size = terminalSize(info.cols, info.rows);
    if (ptyRequest) ptyRequest.size = size;
    resize?.(size);
    accept?.();
  });
  session.on('env', (_accept, reject) => reject?.());
  session.on('shell', (accept) => {
    const channel = accept();
    void run(channel, shellProgram(ptyRequest?.term), ptyRequest, ctx, 'terminal').then((r) => (resize = r));
  });
  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    ctx.log(ActivityLine.exec(ctx.user, info.command));
    void run(channel, commandProgram(info.command, ptyRequest?.term), ptyRequest, ctx, 'command').then((r) => (resize = r));
  });
  session.on('sftp', (accept) => {
    if (ctx.transfers.channelOpened()) ctx.log(ActivityLine.sftp(ctx.user));
    serveSftp(accept(), ctx);
  });
  session.on('subsystem', (_accept, reject) => reject?.());
}

/** Runs the program on the channel (on a PTY if one was asked for and node-pty loads); returns its resize. */
async function run(
  channel: ServerChannel,
  program: Program,
  ptyRequest: PtyRequest | undefined,
  ctx: SessionContext,
  what: 'terminal' | 'command',
): Promise<((size: TerminalSize) => void) | undefined> {
  const finish = (status: ExitStatus) => {
    if (what === 'terminal') ctx.log(ActivityLine.exited(ctx.user, what, describeStatus(status)));
    sendExit(channel, status);
  };
  if (!ptyRequest) {
    runPiped(channel, program, finish);
    return undefined;
  }
  const ptyModule = await ctx.loadPty();
  if (ptyModule instanceof Error) {
    if (what === 'terminal') ctx.log(ActivityLine.shell(ctx.user, false));
    channel.stderr.write(`rac agent: ${ptyModule.message}; this runs without a terminal (no line editing, no full-screen programs)\r\n`);
    runPiped(channel, program, finish);
    return undefined;
  }
  if (what === 'terminal') ctx.log(ActivityLine.shell(ctx.user, true));
  const pty = spawnPty(ptyModule, program, ptyRequest.term, ptyRequest.size);
  attachPty(channel, pty, finish);
  return (size) => pty.resize(size.cols, size.rows);
}

type ExitStatus = { code: number } | { signal: string };

function describeStatus(status: ExitStatus): string {
  return 'code' in status ? `exit status ${status.code}` : `signal ${status.signal}`;
}

function sendExit(channel: ServerChannel, status: ExitStatus): void {
  if ('code' in status) channel.exit(status.code);
  else channel.exit(status.signal.replace(/^SIG/, ''), false, '');
  channel.end();
}

function attachPty(channel: ServerChannel, pty: Pty, finish: (status: ExitStatus) => void): void {
  let exited = false;
  pty.onData((data) => channel.write(data));
  channel.on('data', (data: Buffer) => pty.write(data));
  pty.onExit(({ exitCode, signal }) => {
    exited = true;
    finish(signal ? { signal: signalName(signal) } : { code: exitCode });
  });
  channel.on('close', () => {
    if (!exited) pty.kill('SIGHUP');
  });
}

function signalName(signal: number): string {
  return Object.entries(constants.signals).find(([, n]) => n === signal)?.[0] ?? 'KILL';
}

function runPiped(channel: ServerChannel, program: Program, finish: (status: ExitStatus) => void): void {
  const child = spawn(program.file, program.args, { cwd: program.cwd, env: program.env, stdio: 'pipe', windowsHide: true });
  let done = false;
  child.stdin.on('error', () => undefined); // the program may exit before reading all its input
  channel.pipe(child.stdin);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  child.on('error', (err) => {
    if (done) return;
    done = true;
    channel.stderr.write(`rac agent: cannot start ${program.file}: ${err.message}\r\n`);
    finish({ code: 127 });
  });
  child.on('close', (code, signal) => {
    if (done) return;
    done = true;
    finish(signal ? { signal } : { code: code ?? 1 });
  });
  channel.on('close', () => {
    if (!done) child.kill('SIGHUP');
  });
}

// Escape sequences that switch terminal modes on and off, and a guard that always switches them
// back: on a normal exit, q, SIGINT/SIGTERM/SIGHUP, and an uncaught exception.

export const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[H\x1b[2J';
export const LEAVE_ALT_SCREEN = '\x1b[?1049l';
export const HIDE_CURSOR = '\x1b[?25l';
export const SHOW_CURSOR = '\x1b[?25h';
/** Press/release, motion with and without buttons, SGR (1006) coordinates. */
export const MOUSE_ON = '\x1b[?1000h\x1b[?1002h\x1b[?1003h\x1b[?1006h';
export const MOUSE_OFF = '\x1b[?1006l\x1b[?1003l\x1b[?1002l\x1b[?1000l';
export const RESET_ATTRIBUTES = '\x1b[0m';
/** Bracketed paste: the terminal wraps a paste in ESC[200~ … ESC[201~, so it is told from typing. */
export const BRACKETED_PASTE_ON = '\x1b[?2004h';
export const BRACKETED_PASTE_OFF = '\x1b[?2004l';

export interface RawTty {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface TerminalGuard {
  /** Extra bytes to write on restore (e.g. deleting kitty images); replaces the previous ones. */
  setCleanup(bytes: string): void;
  /** Restores the terminal; safe to call more than once. */
  restore(): void;
  /** Removes the process hooks (after restore). */
  dispose(): void;
}

/**
 * Enters the viewer's terminal modes and installs the hooks that undo them. Writes with
 * writeSync-like semantics on exit paths: `write` must be synchronous for a TTY (Node's is).
 */
export function guardTerminal(stdout: NodeJS.WritableStream, stdin: RawTty, enter: string, leave: string): TerminalGuard {
  let cleanup = '';
  let restored = false;
  const wasRaw = (stdin as { isRaw?: boolean }).isRaw ?? false;
  stdout.write(enter);
  if (stdin.isTTY) stdin.setRawMode?.(true);

  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdout.write(cleanup + leave);
    } catch {
      // the terminal is gone: nothing left to restore
    }
    try {
      if (stdin.isTTY) stdin.setRawMode?.(wasRaw);
    } catch {
      // same
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    dispose();
    process.kill(process.pid, signal);
  };
  const onCrash = (err: unknown) => {
    restore();
    dispose();
    process.stderr.write(`rac view: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  };
  // The terminal went away (its window closed): nothing to restore, and exiting normally would make
  // Node reset the vanished TTY and abort. End the way a hang-up does.
  const onTerminalError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EIO' && err.code !== 'EPIPE') return onCrash(err);
    restored = true;
    dispose();
    process.kill(process.pid, 'SIGHUP');
  };
  stdout.on('error', onTerminalError);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.once(s, onSignal);
  process.on('exit', restore);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const dispose = () => {
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', restore);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    stdout.off('error', onTerminalError);
  };
  return { setCleanup: (bytes) => (cleanup = bytes), restore, dispose };
}

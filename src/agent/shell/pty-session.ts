// Terminals for SSH channels. node-pty is an optional dependency, loaded the first time a terminal
// is asked for; when it cannot load (not installed, no prebuilt binary for this platform) the shell
// runs on plain pipes instead and the caller says so to both people.
import type { Program } from './processes.js';

/** The part of node-pty's IPty rac uses (declared here: node-pty may be absent at build time). */
export interface Pty {
  onData(listener: (data: string | Buffer) => void): void;
  onExit(listener: (exit: { exitCode: number; signal?: number }) => void): void;
  write(data: string | Buffer): void;
  resize(columns: number, rows: number): void;
  kill(signal?: string): void;
}

export interface PtyModule {
  spawn(
    file: string,
    args: string[],
    options: { name: string; cols: number; rows: number; cwd: string; env: NodeJS.ProcessEnv; encoding?: string | null },
  ): Pty;
}

let loading: Promise<PtyModule | Error> | undefined;

/** node-pty, or why it cannot be used (loaded once, then remembered). */
export function loadNodePty(): Promise<PtyModule | Error> {
  // A variable specifier keeps TypeScript from requiring the optional package at build time.
  const specifier: string = 'node-pty';
  loading ??= import(specifier).then(
    (mod: { default?: PtyModule } & PtyModule) => (typeof mod.spawn === 'function' ? mod : mod.default!),
    (err: Error) => new Error(`node-pty cannot be loaded (${err.message.split('\n')[0]})`),
  );
  return loading;
}

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** Clamps what the client asked for to something a terminal can be (0 means "unknown"). */
export function terminalSize(cols: number, rows: number): TerminalSize {
  const clamp = (n: number, fallback: number) => (Number.isInteger(n) && n > 0 ? Math.min(n, 1000) : fallback);
  return { cols: clamp(cols, 80), rows: clamp(rows, 24) };
}

/** Starts `program` on a pseudo-terminal; bytes out are raw (encoding null), so binary output survives. */
export function spawnPty(pty: PtyModule, program: Program, term: string, size: TerminalSize): Pty {
  return pty.spawn(program.file, program.args, {
    name: term,
    cols: size.cols,
    rows: size.rows,
    cwd: program.cwd,
    env: program.env,
    encoding: null,
  });
}

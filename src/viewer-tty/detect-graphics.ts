// `--graphics auto`: ask the terminal what it can draw. A kitty graphics query (a=q), the cell
// size in pixels (CSI 16 t) and DA1 (attribute 4 = sixel) go out together; every terminal answers
// DA1, and answers in order, so the DA1 reply ends the wait. Environment hints decide when the
// terminal stays silent (short timeout), and inside tmux, which passes neither protocol through.
import { type CellSize, DEFAULT_CELL } from './graphics/fit.js';
import type { GraphicsMode } from './graphics/renderer.js';
import { TerminalInputParser } from './input/terminal-input.js';

export const KITTY_QUERY = '\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\';
export const CELL_SIZE_QUERY = '\x1b[16t';
export const DA1_QUERY = '\x1b[c';

export interface TerminalReplies {
  kitty: boolean;
  sixel: boolean;
  cell?: CellSize;
  /** DA1 arrived (so the terminal answered everything it was going to). */
  complete: boolean;
}

/** Reads the answers out of raw terminal input. */
export function parseReplies(input: string): TerminalReplies {
  const replies: TerminalReplies = { kitty: false, sixel: false, complete: false };
  for (const event of new TerminalInputParser().parse(input)) {
    if (event.kind !== 'reply') continue;
    const text = event.text;
    if (text.startsWith('\x1b_G') && /i=31[,;]/.test(text) && /;OK\x1b\\$/.test(text)) replies.kitty = true;
    const da1 = /^\x1b\[\?([\d;]*)c$/.exec(text);
    if (da1) {
      replies.complete = true;
      if (da1[1]!.split(';').slice(1).includes('4')) replies.sixel = true;
    }
    const cell = /^\x1b\[6;(\d+);(\d+)t$/.exec(text);
    if (cell && Number(cell[1]) > 0 && Number(cell[2]) > 0) replies.cell = { width: Number(cell[2]), height: Number(cell[1]) };
  }
  return replies;
}

/**
 * The cell size when the terminal does not say (xterm answers CSI 16 t only with allowWindowOps):
 * xterm's default font is 6×13; elsewhere a common 10×20.
 */
export function guessCellSize(env: NodeJS.ProcessEnv): CellSize {
  if (env.XTERM_VERSION) return { width: 6, height: 13 };
  return DEFAULT_CELL;
}

/** Mode from environment variables alone, when they are conclusive. */
export function hintFromEnv(env: NodeJS.ProcessEnv): GraphicsMode | undefined {
  if (env.TMUX || env.TERM?.startsWith('tmux') || env.TERM?.startsWith('screen')) return 'blocks';
  if (env.KITTY_WINDOW_ID || env.TERM === 'xterm-kitty' || env.TERM_PROGRAM === 'ghostty' || env.TERM_PROGRAM === 'WezTerm') return 'kitty';
  return undefined;
}

/**
 * Whether the terminal is kitty itself, which applies edits of an image's frames (a=f, the graphics
 * protocol's animation commands) as it shows them. Other terminals that speak the kitty protocol
 * may not apply them (Ghostty does not), so there the picture is always sent whole.
 */
export function kittyFrameEdits(env: NodeJS.ProcessEnv): boolean {
  // A terminal started from a kitty shell inherits KITTY_WINDOW_ID; its own TERM_PROGRAM says who it is.
  if (env.TERM_PROGRAM && !/kitty/i.test(env.TERM_PROGRAM)) return false;
  return Boolean(env.KITTY_WINDOW_ID) || env.TERM === 'xterm-kitty';
}

export function chooseMode(replies: TerminalReplies, env: NodeJS.ProcessEnv): GraphicsMode {
  if (env.TMUX) return 'blocks';
  if (replies.kitty) return 'kitty';
  if (replies.sixel) return 'sixel';
  if (!replies.complete) return hintFromEnv(env) ?? 'blocks';
  return 'blocks';
}

export interface DetectOptions {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Queries the terminal (stdin must be in raw mode) and picks kitty → sixel → blocks. */
export async function detectGraphics(options: DetectOptions): Promise<{ mode: GraphicsMode; cell: CellSize; replies: TerminalReplies }> {
  const { stdin, stdout, env } = options;
  let input = '';
  let replies: TerminalReplies = { kitty: false, sixel: false, complete: false };
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer | string) => {
      input += chunk.toString();
      replies = parseReplies(input);
      if (replies.complete) finish();
    };
    const timer = setTimeout(() => finish(), options.timeoutMs ?? 1000);
    const finish = () => {
      clearTimeout(timer);
      stdin.off('data', onData);
      resolve();
    };
    stdin.on('data', onData);
    stdout.write(KITTY_QUERY + CELL_SIZE_QUERY + DA1_QUERY);
  });
  return { mode: chooseMode(replies, env), cell: replies.cell ?? guessCellSize(env), replies };
}

/** Only the cell size (for --graphics kitty|sixel chosen by hand). */
export async function queryCellSize(options: DetectOptions): Promise<CellSize> {
  return (await detectGraphics(options)).cell;
}

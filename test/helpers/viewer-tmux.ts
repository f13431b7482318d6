// rac view tests: a private tmux server per test (its own -L socket) to run a TUI in a real terminal.
import { execFileSync } from 'node:child_process';

export class Tmux {
  readonly socket = `rac-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  constructor(
    readonly cols = 100,
    readonly rows = 30,
  ) {}

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  start(command: string, env: Record<string, string> = {}): void {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    this.tmux('new-session', '-d', '-s', 'main', '-x', String(this.cols), '-y', String(this.rows), ...envArgs, command);
  }

  /** The screen with colours (capture-pane -e). */
  capture(colours = true): string {
    return this.tmux('capture-pane', '-p', ...(colours ? ['-e'] : []), '-t', 'main');
  }

  /** Keys by tmux name (C-], Enter, a) or, with literal, raw bytes as typed. */
  send(keys: string, literal = false): void {
    this.tmux('send-keys', '-t', 'main', ...(literal ? ['-l'] : []), keys);
  }

  display(format: string): string {
    return this.tmux('display-message', '-p', '-t', 'main', format).trim();
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}

/**
 * Parses capture-pane -e output into rows of cells with their truecolour fg/bg. tmux writes an
 * attribute only where it changes, also across lines, so colours carry over from the line before.
 */
export function parseCapture(text: string): Array<Array<{ ch: string; fg?: number[]; bg?: number[] }>> {
  let fg: number[] | undefined;
  let bg: number[] | undefined;
  return text.split('\n').map((line) => {
    const cells: Array<{ ch: string; fg?: number[]; bg?: number[] }> = [];
    for (const m of line.matchAll(/\x1b\[([\d;]*)m|([^\x1b])/gu)) {
      if (m[2] !== undefined) {
        cells.push({ ch: m[2], fg, bg });
        continue;
      }
      const p = (m[1] || '0').split(';').map(Number);
      for (let i = 0; i < p.length; i++) {
        if (p[i] === 0) fg = bg = undefined;
        else if (p[i] === 39) fg = undefined;
        else if (p[i] === 49) bg = undefined;
        else if ((p[i] === 38 || p[i] === 48) && p[i + 1] === 2) {
          const rgb = p.slice(i + 2, i + 5);
          if (p[i] === 38) fg = rgb;
          else bg = rgb;
          i += 4;
        } else if ((p[i] === 38 || p[i] === 48) && p[i + 1] === 5) i += 2;
      }
    }
    return cells;
  });
}

// Truecolor half-blocks: each cell shows two pixels, "▀" with the upper one as foreground and
// the lower one as background. Works in any truecolor terminal, tmux included. Only cells that
// changed since the previous frame are redrawn: the previous grid is kept.
import type { Placement } from './fit.js';
import type { GraphicsRenderer } from './renderer.js';
import { type RgbImage, scaleImage } from './rgb-image.js';

const UPPER_HALF = '\u2580';
const ESC = '\x1b';

/** Picture pixels for a placement: one column per cell, two rows per cell. */
export function halfBlockPixelSize(placement: Placement): { width: number; height: number } {
  return { width: placement.cols, height: placement.rows * 2 };
}

export class HalfBlockRenderer implements GraphicsRenderer {
  readonly mode = 'blocks' as const;
  /** Per cell: upper and lower colour as 0xRRGGBB; -1 = unknown (draw it). */
  private upper = new Int32Array(0);
  private lower = new Int32Array(0);
  private key = '';

  draw(frame: RgbImage, placement: Placement): string {
    const { cols, rows, left, top } = placement;
    if (cols === 0 || rows === 0) return '';
    const key = `${cols}x${rows}+${left}+${top}`;
    if (key !== this.key) {
      this.key = key;
      this.upper = new Int32Array(cols * rows).fill(-1);
      this.lower = new Int32Array(cols * rows).fill(-1);
    }
    const img = scaleImage(frame, cols, rows * 2);
    return this.diff(img.data, cols, rows, left, top);
  }

  private diff(px: Uint8Array, cols: number, rows: number, left: number, top: number): string {
    const parts: string[] = [];
    let fg = -1;
    let bg = -1;
    for (let r = 0; r < rows; r++) {
      const upRow = 2 * r * cols * 3;
      const lowRow = upRow + cols * 3;
      let cursorAt = -1; // the column the cursor sits on after the last cell written in this row
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        const u = (px[upRow + c * 3]! << 16) | (px[upRow + c * 3 + 1]! << 8) | px[upRow + c * 3 + 2]!;
        const l = (px[lowRow + c * 3]! << 16) | (px[lowRow + c * 3 + 1]! << 8) | px[lowRow + c * 3 + 2]!;
        if (this.upper[i] === u && this.lower[i] === l) continue;
        this.upper[i] = u;
        this.lower[i] = l;
        if (cursorAt !== c) parts.push(`${ESC}[${top + r + 1};${left + c + 1}H`);
        if (u !== fg) {
          parts.push(`${ESC}[38;2;${u >>> 16};${(u >>> 8) & 255};${u & 255}m`);
          fg = u;
        }
        if (l !== bg) {
          parts.push(`${ESC}[48;2;${l >>> 16};${(l >>> 8) & 255};${l & 255}m`);
          bg = l;
        }
        parts.push(UPPER_HALF);
        cursorAt = c + 1;
      }
    }
    if (parts.length === 0) return '';
    parts.push(`${ESC}[0m`);
    return parts.join('');
  }

  invalidate(): void {
    this.key = '';
  }

  erase(): string {
    this.invalidate();
    return '';
  }
}

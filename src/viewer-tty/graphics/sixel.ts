// Sixel: a fixed 252-colour palette (6 red × 7 green × 6 blue levels, so quantizing is three
// table look-ups, no per-frame palette search) and a small run-length encoder.
// The picture is scaled to the placement's size in pixels, since sixel has no scaling.
import type { CellSize, Placement } from './fit.js';
import type { GraphicsRenderer } from './renderer.js';
import { type RgbImage, scaleImage } from './rgb-image.js';

const R_LEVELS = 6;
const G_LEVELS = 7;
const B_LEVELS = 6;
export const SIXEL_PALETTE_SIZE = R_LEVELS * G_LEVELS * B_LEVELS;

function levelTable(levels: number): Uint8Array {
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.round((v * (levels - 1)) / 255);
  return table;
}
const R_INDEX = levelTable(R_LEVELS);
const G_INDEX = levelTable(G_LEVELS);
const B_INDEX = levelTable(B_LEVELS);

/** The palette as RGB 0..255, index = (r * 7 + g) * 6 + b. */
export function sixelPalette(): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let r = 0; r < R_LEVELS; r++)
    for (let g = 0; g < G_LEVELS; g++)
      for (let b = 0; b < B_LEVELS; b++)
        out.push([Math.round((r * 255) / (R_LEVELS - 1)), Math.round((g * 255) / (G_LEVELS - 1)), Math.round((b * 255) / (B_LEVELS - 1))]);
  return out;
}

export function quantize(r: number, g: number, b: number): number {
  return (R_INDEX[r]! * G_LEVELS + G_INDEX[g]!) * B_LEVELS + B_INDEX[b]!;
}

const PALETTE_DEFINITION = sixelPalette()
  .map(([r, g, b], i) => `#${i};2;${Math.round((r * 100) / 255)};${Math.round((g * 100) / 255)};${Math.round((b * 100) / 255)}`)
  .join('');

/** A growable byte buffer: sixel output is ASCII, built without string concatenation. */
class ByteWriter {
  buf = new Uint8Array(1 << 16);
  length = 0;
  private ensure(extra: number) {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  byte(b: number) {
    this.ensure(1);
    this.buf[this.length++] = b;
  }
  ascii(text: string) {
    this.ensure(text.length);
    for (let i = 0; i < text.length; i++) this.buf[this.length++] = text.charCodeAt(i);
  }
  /** `count` repetitions of one sixel character, run-length coded when that is shorter. */
  run(char: number, count: number) {
    if (count <= 0) return;
    if (count > 3) {
      this.ascii(`!${count}`);
      this.byte(char);
    } else for (let i = 0; i < count; i++) this.byte(char);
  }
  toString() {
    return Buffer.from(this.buf.buffer, 0, this.length).toString('latin1');
  }
}

/**
 * Encodes an RGB image as one sixel DCS sequence (palette, raster attributes, bands of 6 rows).
 * Per band, each colour keeps the ascending list of columns where it appears, so emitting a colour
 * costs what it covers, not the image width (a busy band holds many colours).
 */
export function encodeSixel(img: RgbImage): string {
  const { width, height, data } = img;
  const out = new ByteWriter();
  out.ascii(`\x1bP0;1;0q"1;1;${width};${height}`);
  out.ascii(PALETTE_DEFINITION);
  const bits = new Uint8Array(SIXEL_PALETTE_SIZE * width);
  const columns = new Int32Array(SIXEL_PALETTE_SIZE * width);
  const counts = new Int32Array(SIXEL_PALETTE_SIZE);
  const used: number[] = [];
  const stride = width * 3;
  for (let band = 0; band < height; band += 6) {
    used.length = 0;
    const rowsInBand = Math.min(6, height - band);
    const bandStart = band * stride;
    for (let x = 0; x < width; x++) {
      for (let k = 0, i = bandStart + x * 3; k < rowsInBand; k++, i += stride) {
        const c = (R_INDEX[data[i]!]! * G_LEVELS + G_INDEX[data[i + 1]!]!) * B_LEVELS + B_INDEX[data[i + 2]!]!;
        const at = c * width + x;
        if (bits[at] === 0) {
          if (counts[c] === 0) used.push(c);
          columns[c * width + counts[c]!++] = x;
        }
        bits[at]! |= 1 << k;
      }
    }
    for (let u = 0; u < used.length; u++) {
      const c = used[u]!;
      out.ascii(`#${c}`);
      const base = c * width;
      const n = counts[c]!;
      let next = 0; // the column the sixel cursor is at
      let runChar = 0;
      let runLength = 0;
      for (let j = 0; j < n; j++) {
        const x = columns[base + j]!;
        const ch = bits[base + x]! + 63;
        bits[base + x] = 0;
        if (x === next && ch === runChar) {
          runLength++;
        } else {
          out.run(runChar, runLength);
          out.run(63, x - next); // columns without this colour
          runChar = ch;
          runLength = 1;
        }
        next = x + 1;
      }
      out.run(runChar, runLength);
      counts[c] = 0;
      out.byte(u === used.length - 1 ? 45 /* - next band */ : 36 /* $ back to column 0 */);
    }
  }
  out.ascii('\x1b\\');
  return out.toString();
}

export class SixelRenderer implements GraphicsRenderer {
  readonly mode = 'sixel' as const;

  draw(frame: RgbImage, placement: Placement, cell: CellSize): string {
    if (placement.cols === 0 || placement.rows === 0) return '';
    const img = scaleImage(frame, placement.cols * cell.width, placement.rows * cell.height);
    return `\x1b[${placement.top + 1};${placement.left + 1}H` + encodeSixel(img);
  }

  invalidate(): void {}

  erase(): string {
    return '';
  }
}

// The kitty graphics protocol: raw RGB, zlib-compressed (o=z), base64 in chunks of 4096 bytes
// with m=1 on all but the last, one image id re-transmitted in place, scaled by the terminal to
// the placement's cells (c=, r=). When only parts of the picture changed and it is drawn in the
// same place at the same size, only those parts go, as edits of the image's root frame (a=f, the
// protocol's animation commands), which kitty shows at once. See
// https://sw.kovidgoyal.net/kitty/graphics-protocol/
import { deflateSync } from 'node:zlib';
import { editWindows } from './changed-regions.js';
import type { CellSize, Placement, Region } from './fit.js';
import type { GraphicsRenderer } from './renderer.js';
import { type RgbImage, scaleImage, scaleWindow } from './rgb-image.js';

const APC = '\x1b_G';
const ST = '\x1b\\';
export const KITTY_CHUNK = 4096;

/** Splits a base64 payload into the protocol's chunked escape sequences. */
export function kittyChunks(control: string, base64: string): string {
  if (base64.length === 0) return `${APC}${control},m=0;${ST}`;
  const parts: string[] = [];
  for (let offset = 0; offset < base64.length; offset += KITTY_CHUNK) {
    const chunk = base64.slice(offset, offset + KITTY_CHUNK);
    const more = offset + KITTY_CHUNK < base64.length ? 1 : 0;
    parts.push(offset === 0 ? `${APC}${control},m=${more};${chunk}${ST}` : `${APC}m=${more};${chunk}${ST}`);
  }
  return parts.join('');
}

export interface KittyImageOptions {
  id: number;
  cols: number;
  rows: number;
  /** zlib level: 1 is several times faster than the default and barely larger on screen content. */
  level?: number;
}

/** One transmit-and-display command (a=T) for an RGB image; the cursor does not move (C=1). */
export function encodeKittyImage(img: RgbImage, options: KittyImageOptions): string {
  const compressed = deflateSync(img.data, { level: options.level ?? 1 });
  const control = `a=T,f=24,o=z,s=${img.width},v=${img.height},i=${options.id},p=1,c=${options.cols},r=${options.rows},C=1,q=2`;
  return kittyChunks(control, compressed.toString('base64'));
}

/**
 * Replaces the pixels at (x, y) of image `id`'s root frame (r=1) with `img` (X=1: no alpha blending;
 * f=24 has none anyway).
 */
export function encodeKittyEdit(img: RgbImage, options: { id: number; x: number; y: number; level?: number }): string {
  const compressed = deflateSync(img.data, { level: options.level ?? 1 });
  const control = `a=f,r=1,i=${options.id},x=${options.x},y=${options.y},s=${img.width},v=${img.height},f=24,o=z,X=1,q=2`;
  return kittyChunks(control, compressed.toString('base64'));
}

/** Deletes the image and frees its data (d=I). */
export function kittyDelete(id: number): string {
  return `${APC}a=d,d=I,i=${id},q=2${ST}`;
}

export class KittyRenderer implements GraphicsRenderer {
  readonly mode = 'kitty' as const;
  /** Where and at which sizes the image on screen was last drawn whole; undefined: nothing to edit. */
  private shown: string | undefined;
  /** `edits`: redraw changed parts as frame edits (kitty itself; terminals that ignore them get whole pictures). */
  constructor(
    readonly imageId = 0x7261,
    private readonly options: { edits: boolean } = { edits: true },
  ) {}

  draw(frame: RgbImage, placement: Placement, cell: CellSize, changed?: readonly Region[]): string {
    if (placement.cols === 0 || placement.rows === 0) {
      this.shown = undefined;
      return '';
    }
    // Send no more pixels than the cells can show; the terminal scales the rest exactly.
    const width = Math.min(frame.width, placement.cols * cell.width);
    const height = Math.min(frame.height, placement.rows * cell.height);
    const layout = JSON.stringify([placement, frame.width, frame.height, width, height]);
    const windows = changed && this.options.edits && layout === this.shown ? editWindows(changed, frame, { width, height }) : undefined;
    if (windows) return windows.map((w) => this.edit(frame, width, height, w)).join('');
    this.shown = layout;
    const img = scaleImage(frame, width, height);
    const at = `\x1b[${placement.top + 1};${placement.left + 1}H`;
    return at + encodeKittyImage(img, { id: this.imageId, cols: placement.cols, rows: placement.rows });
  }

  /** The `window` of the scaled picture, as an edit of the image on screen. */
  private edit(frame: RgbImage, width: number, height: number, window: Region): string {
    return encodeKittyEdit(scaleWindow(frame, width, height, window), { id: this.imageId, x: window.x, y: window.y });
  }

  invalidate(): void {
    this.shown = undefined;
  }

  erase(): string {
    this.shown = undefined;
    return kittyDelete(this.imageId);
  }
}

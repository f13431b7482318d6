// An RGB picture (3 bytes per pixel, rows packed), cropping (zoom) and the scaler every encoder uses:
// the shared box filter (src/shared/box-filter.ts) to shrink, pixel repetition to enlarge.
import { type TargetWindow, boxShrink, boxShrinkWindow } from '../../shared/box-filter.js';

export interface RgbImage {
  width: number;
  height: number;
  /** R,G,B per pixel, `width * 3` bytes per row, no padding. */
  data: Uint8Array;
}

/**
 * Scales to `width × height` by averaging the source pixels under each target pixel (a box
 * filter): downscaling a desktop keeps thin text legible, unlike nearest-neighbour.
 * Upscaling repeats pixels. Returns the source itself when the size already matches.
 */
export function scaleImage(src: RgbImage, width: number, height: number): RgbImage {
  if (width === src.width && height === src.height) return src;
  if (width <= 0 || height <= 0) return { width: Math.max(0, width), height: Math.max(0, height), data: new Uint8Array(0) };
  if (width >= src.width && height >= src.height) return enlarge(src, width, height);
  const out = new Uint8Array(width * height * 3);
  boxShrink({ ...src, stride: src.width * 3, bytesPerPixel: 3 }, { data: out, width, height, stride: width * 3, bytesPerPixel: 3 });
  return { width, height, data: out };
}

/**
 * The `window` (in target pixels, inside `width × height`) of what scaleImage(src, width, height)
 * gives: exactly those pixels, computed from the source pixels under them only, so a changed part
 * of a picture is redrawn without scaling the whole.
 */
export function scaleWindow(src: RgbImage, width: number, height: number, window: TargetWindow): RgbImage {
  if (width === src.width && height === src.height) return cropImage(src, window);
  if (width >= src.width && height >= src.height) return enlarge(src, width, height, window);
  const out = new Uint8Array(window.width * window.height * 3);
  const rows = { data: out, width: window.width, height: window.height, stride: window.width * 3, bytesPerPixel: 3 as const };
  boxShrinkWindow({ ...src, stride: src.width * 3, bytesPerPixel: 3 }, rows, { width, height }, window);
  return { width: window.width, height: window.height, data: out };
}

/** Upscaling: each target pixel takes the source pixel it falls in (nothing to average). */
function enlarge(src: RgbImage, width: number, height: number, window: TargetWindow = { x: 0, y: 0, width, height }): RgbImage {
  const out = new Uint8Array(window.width * window.height * 3);
  const sourceX = new Uint32Array(window.width);
  for (let x = 0; x < window.width; x++) sourceX[x] = Math.floor(((window.x + x) * src.width) / width) * 3;
  const rowBytes = window.width * 3;
  let previousSourceRow = -1;
  for (let y = 0; y < window.height; y++) {
    const sy = Math.floor(((window.y + y) * src.height) / height);
    const o = y * rowBytes;
    if (sy === previousSourceRow) {
      out.copyWithin(o, o - rowBytes, o);
      continue;
    }
    previousSourceRow = sy;
    const row = sy * src.width * 3;
    for (let x = 0, i = o; x < window.width; x++, i += 3) {
      const s = row + sourceX[x]!;
      out[i] = src.data[s]!;
      out[i + 1] = src.data[s + 1]!;
      out[i + 2] = src.data[s + 2]!;
    }
  }
  return { width: window.width, height: window.height, data: out };
}

/** The `region` of `src` (clamped to it) as an image of its own; `src` itself when that is all of it. */
export function cropImage(src: RgbImage, region: { x: number; y: number; width: number; height: number }): RgbImage {
  const x = Math.max(0, Math.min(src.width, Math.floor(region.x)));
  const y = Math.max(0, Math.min(src.height, Math.floor(region.y)));
  const width = Math.max(0, Math.min(src.width - x, Math.floor(region.width)));
  const height = Math.max(0, Math.min(src.height - y, Math.floor(region.height)));
  if (x === 0 && y === 0 && width === src.width && height === src.height) return src;
  const out = new Uint8Array(width * height * 3);
  const rowBytes = width * 3;
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * src.width + x) * 3;
    out.set(src.data.subarray(from, from + rowBytes), row * rowBytes);
  }
  return { width, height, data: out };
}

/** A solid-colour image, handy for tests and placeholders. */
export function solidImage(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = rgb[0];
    data[i + 1] = rgb[1];
    data[i + 2] = rgb[2];
  }
  return { width, height, data };
}

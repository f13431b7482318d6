// An RGB picture (3 bytes per pixel, rows packed), cropping (zoom) and the area-average scaler every
// encoder uses.

export interface RgbImage {
  width: number;
  height: number;
  /** R,G,B per pixel, `width * 3` bytes per row, no padding. */
  data: Uint8Array;
}

/** Target pixel i covers source pixels `start[i] .. end[i]-1` (at least one). */
function spans(source: number, target: number): { start: Uint32Array; end: Uint32Array } {
  const start = new Uint32Array(target);
  const end = new Uint32Array(target);
  for (let i = 0; i < target; i++) {
    start[i] = Math.floor((i * source) / target);
    end[i] = Math.max(start[i]! + 1, Math.floor(((i + 1) * source) / target));
  }
  return { start, end };
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
  const xs = spans(src.width, width);
  const ys = spans(src.height, height);
  const out = new Uint8Array(width * height * 3);
  const sums = new Uint32Array(width * 3);
  const counts = new Uint32Array(width);
  for (let x = 0; x < width; x++) counts[x] = xs.end[x]! - xs.start[x]!;
  const stride = src.width * 3;
  const data = src.data;
  let o = 0;
  for (let y = 0; y < height; y++) {
    sums.fill(0);
    const y0 = ys.start[y]!;
    const y1 = ys.end[y]!;
    for (let sy = y0; sy < y1; sy++) {
      const row = sy * stride;
      for (let x = 0; x < width; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let sx = xs.start[x]!, end = xs.end[x]!, i = row + sx * 3; sx < end; sx++, i += 3) {
          r += data[i]!;
          g += data[i + 1]!;
          b += data[i + 2]!;
        }
        sums[x * 3]! += r;
        sums[x * 3 + 1]! += g;
        sums[x * 3 + 2]! += b;
      }
    }
    const rows = y1 - y0;
    for (let x = 0; x < width; x++) {
      const n = counts[x]! * rows;
      const half = n >> 1;
      out[o++] = ((sums[x * 3]! + half) / n) | 0;
      out[o++] = ((sums[x * 3 + 1]! + half) / n) | 0;
      out[o++] = ((sums[x * 3 + 2]! + half) / n) | 0;
    }
  }
  return { width, height, data: out };
}

/** Upscaling: each target pixel takes the source pixel it falls in (nothing to average). */
function enlarge(src: RgbImage, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const sourceX = new Uint32Array(width);
  for (let x = 0; x < width; x++) sourceX[x] = Math.floor((x * src.width) / width) * 3;
  const rowBytes = width * 3;
  let previousSourceRow = -1;
  for (let y = 0; y < height; y++) {
    const sy = Math.floor((y * src.height) / height);
    const o = y * rowBytes;
    if (sy === previousSourceRow) {
      out.copyWithin(o, o - rowBytes, o);
      continue;
    }
    previousSourceRow = sy;
    const row = sy * src.width * 3;
    for (let x = 0, i = o; x < width; x++, i += 3) {
      const s = row + sourceX[x]!;
      out[i] = src.data[s]!;
      out[i + 1] = src.data[s + 1]!;
      out[i + 2] = src.data[s + 2]!;
    }
  }
  return { width, height, data: out };
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

// The box filter both ends use to shrink a picture (the agent under --max-width, the viewer to fit
// the terminal): each target pixel is the average of the source pixels it covers, so thin text
// stays legible, unlike nearest-neighbour. Pure and layout-agnostic: rows of `stride` bytes, 3 or 4
// bytes a pixel, the first three the colour channels in whatever order the caller keeps them.

export interface PixelRows {
  data: Uint8Array;
  width: number;
  height: number;
  /** Bytes from one row to the next (at least width × bytesPerPixel). */
  stride: number;
  /** 3 (packed colour) or 4 (colour and a padding byte, which comes out 0). */
  bytesPerPixel: 3 | 4;
}

/** A rectangle of the target picture, in target pixels. */
export interface TargetWindow {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Source index ranges [start, end) that target indices `first`..`first + count - 1` average over
 * (at least one each), for a picture of `target` pixels made from `source`.
 */
function spans(source: number, target: number, first = 0, count = target): Int32Array {
  const out = new Int32Array(count * 2);
  for (let k = 0; k < count; k++) {
    const i = first + k;
    const start = Math.floor((i * source) / target);
    out[k * 2] = start;
    out[k * 2 + 1] = Math.max(start + 1, Math.floor(((i + 1) * source) / target));
  }
  return out;
}

/** Writes `src` shrunk into `dst` (its data, size and layout set by the caller; not larger than `src`). */
export function boxShrink(src: PixelRows, dst: PixelRows): void {
  boxShrinkWindow(src, dst, dst, { x: 0, y: 0, width: dst.width, height: dst.height });
}

/**
 * Writes only `dst`'s pixels of `target` (the size `src` is shrunk to) that `window` covers: the
 * same pixels boxShrink would give there, for redrawing a changed part. `dst` is the window's size.
 */
export function boxShrinkWindow(src: PixelRows, dst: PixelRows, target: { width: number; height: number }, window: TargetWindow): void {
  const { width, height } = window;
  const xs = spans(src.width, target.width, window.x, width);
  const ys = spans(src.height, target.height, window.y, height);
  const sums = new Uint32Array(width * 3);
  const inStep = src.bytesPerPixel;
  const outStep = dst.bytesPerPixel;
  const data = src.data;
  const out = dst.data;
  for (let y = 0; y < height; y++) {
    sums.fill(0);
    const y0 = ys[y * 2]!;
    const y1 = ys[y * 2 + 1]!;
    for (let sy = y0; sy < y1; sy++) {
      const row = sy * src.stride;
      for (let x = 0; x < width; x++) {
        const x1 = xs[x * 2 + 1]!;
        let c0 = 0;
        let c1 = 0;
        let c2 = 0;
        for (let sx = xs[x * 2]!, p = row + sx * inStep; sx < x1; sx++, p += inStep) {
          c0 += data[p]!;
          c1 += data[p + 1]!;
          c2 += data[p + 2]!;
        }
        sums[x * 3] = sums[x * 3]! + c0;
        sums[x * 3 + 1] = sums[x * 3 + 1]! + c1;
        sums[x * 3 + 2] = sums[x * 3 + 2]! + c2;
      }
    }
    const rows = y1 - y0;
    for (let x = 0, o = y * dst.stride; x < width; x++, o += outStep) {
      const n = rows * (xs[x * 2 + 1]! - xs[x * 2]!);
      const half = n >> 1; // rounds to nearest
      out[o] = ((sums[x * 3]! + half) / n) | 0;
      out[o + 1] = ((sums[x * 3 + 1]! + half) / n) | 0;
      out[o + 2] = ((sums[x * 3 + 2]! + half) / n) | 0;
      if (outStep === 4) out[o + 3] = 0;
    }
  }
}

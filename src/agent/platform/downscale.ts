// Shrinks a captured B,G,R,X frame to a narrower width (--max-width) by averaging the source pixels
// each destination pixel covers (a box filter: text stays legible, unlike nearest-neighbour).
// libjpeg-turbo scales only when decoding, so this is the one resize step on the agent's side.
import type { CapturedFrame } from './screen-capture.js';

/** The size a frame of `width`×`height` is sent at under `maxWidth` (aspect ratio kept). */
export function scaledSize(width: number, height: number, maxWidth: number | undefined): { width: number; height: number } {
  if (!maxWidth || width <= maxWidth) return { width, height };
  return { width: maxWidth, height: Math.max(1, Math.round((height * maxWidth) / width)) };
}

/** Source index ranges [start, end) each destination index averages over. */
function spans(source: number, target: number): Int32Array {
  const out = new Int32Array(target * 2);
  for (let i = 0; i < target; i++) {
    const start = Math.floor((i * source) / target);
    const end = Math.max(start + 1, Math.floor(((i + 1) * source) / target));
    out[i * 2] = start;
    out[i * 2 + 1] = end;
  }
  return out;
}

export function downscale(frame: CapturedFrame, width: number, height: number): CapturedFrame {
  if (width >= frame.width && height >= frame.height) return frame;
  const xs = spans(frame.width, width);
  const ys = spans(frame.height, height);
  const stride = width * 4;
  const out = Buffer.allocUnsafe(stride * height);
  const src = frame.data;
  const sums = new Uint32Array(width * 3);
  for (let dy = 0; dy < height; dy++) {
    sums.fill(0);
    const y0 = ys[dy * 2]!;
    const y1 = ys[dy * 2 + 1]!;
    for (let sy = y0; sy < y1; sy++) {
      const row = sy * frame.stride;
      for (let dx = 0; dx < width; dx++) {
        const x1 = xs[dx * 2 + 1]!;
        let b = 0;
        let g = 0;
        let r = 0;
        for (let sx = xs[dx * 2]!, p = row + sx * 4; sx < x1; sx++, p += 4) {
          b += src[p]!;
          g += src[p + 1]!;
          r += src[p + 2]!;
        }
        const s = dx * 3;
        sums[s] = sums[s]! + b;
        sums[s + 1] = sums[s + 1]! + g;
        sums[s + 2] = sums[s + 2]! + r;
      }
    }
    const rows = y1 - y0;
    let o = dy * stride;
    for (let dx = 0; dx < width; dx++, o += 4) {
      const n = rows * (xs[dx * 2 + 1]! - xs[dx * 2]!);
      out[o] = (sums[dx * 3]! / n + 0.5) | 0;
      out[o + 1] = (sums[dx * 3 + 1]! / n + 0.5) | 0;
      out[o + 2] = (sums[dx * 3 + 2]! / n + 0.5) | 0;
      out[o + 3] = 0;
    }
  }
  return { data: out, width, height, stride };
}

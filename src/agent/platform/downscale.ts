// Shrinks a captured B,G,R,X frame to a narrower width (--max-width) with the shared box filter
// (src/shared/box-filter.ts, which the viewer's scaler uses too). libjpeg-turbo scales only when
// decoding, so this is the one resize step on the agent's side.
import { boxShrink } from '../../shared/box-filter.js';
import type { CapturedFrame } from './screen-capture.js';

/** The size a frame of `width`×`height` is sent at under `maxWidth` (aspect ratio kept). */
export function scaledSize(width: number, height: number, maxWidth: number | undefined): { width: number; height: number } {
  if (!maxWidth || width <= maxWidth) return { width, height };
  return { width: maxWidth, height: Math.max(1, Math.round((height * maxWidth) / width)) };
}

export function downscale(frame: CapturedFrame, width: number, height: number): CapturedFrame {
  if (width >= frame.width && height >= frame.height) return frame;
  const out: CapturedFrame = { data: Buffer.allocUnsafe(width * 4 * height), width, height, stride: width * 4 };
  boxShrink({ ...frame, bytesPerPixel: 4 }, { ...out, bytesPerPixel: 4 });
  return out;
}

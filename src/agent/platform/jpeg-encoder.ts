// BGRX frames → JPEG. libjpeg-turbo (@julusian/jpeg-turbo) takes the captured buffer with its
// stride as it is; jpeg-js (pure JS, ~25× slower) is only the fallback when the native module
// cannot load, and says so.
import { createRequire } from 'node:module';
import type { CapturedFrame } from './screen-capture.js';

export interface JpegEncoder {
  readonly name: 'libjpeg-turbo' | 'jpeg-js';
  /** quality 1–100 */
  encode(frame: CapturedFrame, quality: number): Buffer;
}

const require = createRequire(import.meta.url);

interface JpegTurbo {
  FORMAT_BGRA: number;
  SAMP_420: number;
  compressSync(
    raw: Buffer,
    options: { format: number; width: number; height: number; stride?: number; quality?: number; subsampling?: number },
  ): Buffer;
}

export function turboEncoder(): JpegEncoder {
  const turbo = require('@julusian/jpeg-turbo') as JpegTurbo;
  return {
    name: 'libjpeg-turbo',
    encode(frame, quality) {
      return turbo.compressSync(frame.data, {
        format: turbo.FORMAT_BGRA,
        width: frame.width,
        height: frame.height,
        stride: frame.stride / 4,
        quality: clampQuality(quality),
        subsampling: turbo.SAMP_420,
      });
    },
  };
}

interface JpegJs {
  encode(image: { data: Buffer; width: number; height: number }, quality: number): { data: Buffer };
}

export function jpegJsEncoder(): JpegEncoder {
  const jpeg = require('jpeg-js') as JpegJs;
  return {
    name: 'jpeg-js',
    encode(frame, quality) {
      // jpeg-js wants tightly packed R,G,B,A.
      const rgba = Buffer.allocUnsafe(frame.width * frame.height * 4);
      for (let y = 0; y < frame.height; y++) {
        let src = y * frame.stride;
        let dst = y * frame.width * 4;
        for (let x = 0; x < frame.width; x++, src += 4, dst += 4) {
          rgba[dst] = frame.data[src + 2]!;
          rgba[dst + 1] = frame.data[src + 1]!;
          rgba[dst + 2] = frame.data[src]!;
          rgba[dst + 3] = 255;
        }
      }
      return jpeg.encode({ data: rgba, width: frame.width, height: frame.height }, clampQuality(quality)).data;
    },
  };
}

/** libjpeg-turbo when it loads, else jpeg-js with a warning. */
export function loadJpegEncoder(warn: (message: string) => void): JpegEncoder {
  try {
    return turboEncoder();
  } catch (err) {
    warn(`libjpeg-turbo did not load (${(err as Error).message.split('\n')[0]}): using jpeg-js, which is much slower`);
    return jpegJsEncoder();
  }
}

const clampQuality = (quality: number) => Math.min(100, Math.max(1, Math.round(quality)));

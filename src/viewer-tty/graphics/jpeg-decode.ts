// JPEG → RGB. libjpeg-turbo (native, ~6 ms at 1080p); jpeg-js (pure JS, ~20× slower) only when
// the native module does not load on this platform.
import { createRequire } from 'node:module';
import type { RgbImage } from './rgb-image.js';

type Decoder = (jpeg: Uint8Array) => RgbImage;

const require = createRequire(import.meta.url);

function turboDecoder(): Decoder | undefined {
  try {
    const turbo = require('@julusian/jpeg-turbo') as typeof import('@julusian/jpeg-turbo');
    return (jpeg) => {
      const out = turbo.decompressSync(Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength), { format: turbo.FORMAT_RGB });
      return { width: out.width, height: out.height, data: out.data.subarray(0, out.width * out.height * 3) };
    };
  } catch {
    return undefined;
  }
}

function jpegJsDecoder(): Decoder {
  const jpegJs = require('jpeg-js') as { decode(data: Uint8Array, opts: object): { width: number; height: number; data: Uint8Array } };
  return (jpeg) => {
    const out = jpegJs.decode(jpeg, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 512 });
    return { width: out.width, height: out.height, data: out.data };
  };
}

let decoder: Decoder | undefined;
export let jpegDecoderName = '';

/** Decodes a JPEG to RGB; throws on a corrupt image (callers drop that frame). */
export function decodeJpeg(jpeg: Uint8Array): RgbImage {
  if (!decoder) {
    decoder = turboDecoder();
    jpegDecoderName = decoder ? 'libjpeg-turbo' : 'jpeg-js';
    decoder ??= jpegJsDecoder();
  }
  return decoder(jpeg);
}

/** For tests and the benchmark: the pure-JS path regardless of the native module. */
export const decodeJpegPureJs: Decoder = (jpeg) => jpegJsDecoder()(jpeg);

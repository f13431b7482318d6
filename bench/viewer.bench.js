// Per-frame cost of the terminal viewer for each graphics mode at 1280×720 and 1920×1080: JPEG
// decode (libjpeg-turbo) + scaling + encoding for a 200×50-cell terminal (10×20-pixel cells), next
// to baselines measured in the same run: the pure-JS JPEG decoder (jpeg-js, the fallback), blocks
// redrawn in full instead of only changed cells, kitty with zlib's default level instead of 1.
// Run after `npx tsc -p .`: node bench/viewer.bench.js
import turbo from '@julusian/jpeg-turbo';
import { fitImage } from '../dist/viewer-tty/graphics/fit.js';
import { HalfBlockRenderer } from '../dist/viewer-tty/graphics/half-blocks.js';
import { decodeJpeg, decodeJpegPureJs } from '../dist/viewer-tty/graphics/jpeg-decode.js';
import { KittyRenderer, encodeKittyImage } from '../dist/viewer-tty/graphics/kitty.js';
import { scaleImage } from '../dist/viewer-tty/graphics/rgb-image.js';
import { SixelRenderer } from '../dist/viewer-tty/graphics/sixel.js';

const COLS = 200;
const ROWS = 50;
const CELL = { width: 10, height: 20 };
const FRAMES = Number(process.env.BENCH_FRAMES ?? 30);

/** A desktop-like frame: a gradient wallpaper, windows, and "text" (short dark runs); `shift` moves a window. */
function desktop(width, height, shift) {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      rgb[i] = (30 + (x * 60) / width) | 0;
      rgb[i + 1] = (60 + (y * 80) / height) | 0;
      rgb[i + 2] = 120;
    }
  const window = (x0, y0, w, h) => {
    for (let y = y0; y < Math.min(height, y0 + h); y++)
      for (let x = x0; x < Math.min(width, x0 + w); x++) {
        const i = (y * width + x) * 3;
        const title = y - y0 < 30;
        const text = !title && (y - y0) % 18 < 10 && (x * 7 + y * 3) % 11 < 5 && (x - x0) % 90 < 70;
        const v = title ? 70 : text ? 20 : 245;
        rgb[i] = rgb[i + 1] = rgb[i + 2] = v;
      }
  };
  window(Math.round(width * 0.05), Math.round(height * 0.08), Math.round(width * 0.5), Math.round(height * 0.6));
  window(Math.round(width * 0.4) + shift, Math.round(height * 0.3), Math.round(width * 0.45), Math.round(height * 0.55));
  return turbo.compressSync(rgb, { width, height, format: turbo.FORMAT_RGB, quality: 60, subsampling: turbo.SAMP_420 });
}

function time(fn, frames = FRAMES) {
  fn(0); // warm up
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (let f = 1; f <= frames; f++) bytes += fn(f);
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / frames;
  return { ms, bytes: bytes / frames };
}

const row = (cells) => cells.map((c, i) => String(c).padEnd(i === 0 ? 34 : 16)).join('');
console.log(`terminal ${COLS}×${ROWS} cells of ${CELL.width}×${CELL.height} px, ${FRAMES} frames, a window moving 4 px per frame`);
for (const [w, h] of [
  [1280, 720],
  [1920, 1080],
]) {
  const jpegs = Array.from({ length: 8 }, (_, k) => desktop(w, h, k * 4));
  const jpeg = (f) => jpegs[f % jpegs.length];
  const placement = fitImage(w, h, COLS, ROWS - 1, CELL);
  console.log(`\n${w}×${h} (JPEG q60 ≈ ${Math.round(jpegs[0].length / 1024)} KiB) → ${placement.cols}×${placement.rows} cells`);
  console.log(row(['', 'ms/frame', 'fps ceiling', 'bytes/frame']));
  const report = (name, r) => console.log(row([name, r.ms.toFixed(2), Math.floor(1000 / r.ms), Math.round(r.bytes)]));

  report(
    'decode: libjpeg-turbo',
    time((f) => (decodeJpeg(jpeg(f)), 0)),
  );
  report(
    'decode: jpeg-js (baseline)',
    time((f) => (decodeJpegPureJs(jpeg(f)), 0), Math.min(FRAMES, 10)),
  );

  const blocks = new HalfBlockRenderer();
  report(
    'blocks: decode+diff',
    time((f) => blocks.draw(decodeJpeg(jpeg(f)), placement, CELL).length),
  );
  const full = new HalfBlockRenderer();
  report(
    'blocks: full redraw (baseline)',
    time((f) => (full.invalidate(), full.draw(decodeJpeg(jpeg(f)), placement, CELL).length)),
  );

  const kitty = new KittyRenderer();
  report(
    'kitty: decode+zlib 1+base64',
    time((f) => kitty.draw(decodeJpeg(jpeg(f)), placement, CELL).length),
  );
  report(
    'kitty: zlib default (baseline)',
    time((f) => {
      const img = decodeJpeg(jpeg(f));
      const scaled = scaleImage(img, Math.min(img.width, placement.cols * CELL.width), Math.min(img.height, placement.rows * CELL.height));
      return encodeKittyImage(scaled, { id: 1, cols: placement.cols, rows: placement.rows, level: 6 }).length;
    }),
  );

  const sixel = new SixelRenderer();
  report(
    'sixel: decode+scale+encode',
    time((f) => sixel.draw(decodeJpeg(jpeg(f)), placement, CELL).length),
  );
  report(
    'sixel: with jpeg-js (baseline)',
    time((f) => sixel.draw(decodeJpegPureJs(jpeg(f)), placement, CELL).length, Math.min(FRAMES, 10)),
  );
}

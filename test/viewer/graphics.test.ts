import t from 'tap';
import { inflateSync } from 'node:zlib';
import { fitImage, cellToRemote } from '../../src/viewer-tty/graphics/fit.js';
import { HalfBlockRenderer } from '../../src/viewer-tty/graphics/half-blocks.js';
import { KITTY_CHUNK, KittyRenderer, encodeKittyImage, kittyDelete } from '../../src/viewer-tty/graphics/kitty.js';
import { type RgbImage, scaleImage, solidImage } from '../../src/viewer-tty/graphics/rgb-image.js';
import { SixelRenderer, encodeSixel, quantize, sixelPalette } from '../../src/viewer-tty/graphics/sixel.js';
import { CellScreen } from '../helpers/cell-screen.js';
import { decodeSixel } from '../helpers/sixel-decode.js';

/** Four quadrants: red, green / blue, white. */
function quadrants(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const right = x >= width / 2;
      const bottom = y >= height / 2;
      const rgb = !bottom ? (right ? [0, 255, 0] : [255, 0, 0]) : right ? [255, 255, 255] : [0, 0, 255];
      data.set(rgb, (y * width + x) * 3);
    }
  return { width, height, data };
}

/** Sixel colours travel as percentages, so a palette colour comes back within ±2. */
function near(a: number[], b: number[]): boolean {
  return a.every((v, i) => Math.abs(v - b[i]!) <= 2);
}

function pixel(img: RgbImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

t.test('scaleImage averages the pixels under each target pixel', async (t) => {
  const img: RgbImage = { width: 2, height: 2, data: new Uint8Array([0, 0, 0, 200, 100, 50, 100, 50, 0, 100, 50, 150]) };
  const one = scaleImage(img, 1, 1);
  t.same(pixel(one, 0, 0), [100, 50, 50]);
  const big = scaleImage(quadrants(64, 64), 8, 8);
  t.same(pixel(big, 0, 0), [255, 0, 0]);
  t.same(pixel(big, 7, 0), [0, 255, 0]);
  t.same(pixel(big, 0, 7), [0, 0, 255]);
  t.same(pixel(big, 7, 7), [255, 255, 255]);
  const up = scaleImage(quadrants(2, 2), 5, 3);
  t.equal(up.data.length, 5 * 3 * 3);
  t.same(pixel(up, 4, 2), [255, 255, 255]);
  t.equal(scaleImage(img, 2, 2), img, 'same size: no copy');
});

t.test('fitImage keeps the aspect ratio and centres; cellToRemote maps back', async (t) => {
  // 1920×1080 into 100×40 cells of 10×20 px: width-bound (1000 px wide → 562 px tall → 28 rows).
  const p = fitImage(1920, 1080, 100, 40, { width: 10, height: 20 });
  t.same({ cols: p.cols, rows: p.rows, left: p.left, top: p.top }, { cols: 100, rows: 28, left: 0, top: 6 });
  t.same(cellToRemote(p, 0, 6), { x: 9, y: 19 });
  t.same(cellToRemote(p, 99, 33), { x: 1910, y: 1060 });
  t.equal(cellToRemote(p, 50, 5), undefined, 'above the picture');
  t.equal(cellToRemote(p, 50, 34), undefined, 'below the picture');
  // Height-bound: a tall picture is centred horizontally.
  const tall = fitImage(1000, 2000, 100, 40, { width: 10, height: 20 });
  t.same({ cols: tall.cols, rows: tall.rows, left: tall.left, top: tall.top }, { cols: 40, rows: 40, left: 30, top: 0 });
  t.same(fitImage(0, 0, 10, 10).cols, 0);
});

t.test('half-blocks: upper pixel as foreground, lower as background, in the right cells', async (t) => {
  const renderer = new HalfBlockRenderer();
  const placement = { left: 2, top: 1, cols: 4, rows: 2, imageWidth: 8, imageHeight: 8 };
  // 4 columns × 4 pixel rows: top half red/green, bottom half blue/white.
  const out = renderer.draw(quadrants(8, 8), placement);
  const screen = new CellScreen(10, 5);
  screen.apply(out);
  t.equal(screen.writes, 8, 'every cell drawn once');
  t.same(screen.cells[1]![2], { ch: '\u2580', fg: [255, 0, 0], bg: [255, 0, 0] });
  t.same(screen.cells[1]![5], { ch: '\u2580', fg: [0, 255, 0], bg: [0, 255, 0] });
  t.same(screen.cells[2]![2], { ch: '\u2580', fg: [0, 0, 255], bg: [0, 0, 255] });
  t.same(screen.cells[2]![5], { ch: '\u2580', fg: [255, 255, 255], bg: [255, 255, 255] });
  t.equal(screen.cells[0]![0]!.ch, ' ', 'outside the placement untouched');
  t.ok(out.endsWith('\x1b[0m'), 'attributes reset at the end');

  // A frame whose top-left 2×2 pixels (cell 0, both halves) changed: one cell redrawn.
  t.equal(renderer.draw(quadrants(8, 8), placement), '', 'an identical frame writes nothing');
  const changed = quadrants(8, 8);
  for (const [x, y] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ])
    changed.data.set([10, 20, 30], (y! * 8 + x!) * 3);
  const diff = renderer.draw(changed, placement);
  const again = new CellScreen(10, 5);
  again.apply(diff);
  t.equal(again.writes, 1, 'only the changed cell is written');
  t.same(again.cells[1]![2], { ch: '\u2580', fg: [10, 20, 30], bg: [255, 0, 0] });

  renderer.invalidate();
  const full = new CellScreen(10, 5);
  full.apply(renderer.draw(changed, placement));
  t.equal(full.writes, 8, 'after invalidate the whole picture is drawn');
});

t.test('half-blocks: different upper and lower colours in one cell', async (t) => {
  const img: RgbImage = { width: 1, height: 2, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
  const screen = new CellScreen(1, 1);
  screen.apply(new HalfBlockRenderer().draw(img, { left: 0, top: 0, cols: 1, rows: 1, imageWidth: 1, imageHeight: 2 }));
  t.same(screen.cells[0]![0], { ch: '\u2580', fg: [1, 2, 3], bg: [4, 5, 6] });
});

/** Splits kitty output into its APC commands: control keys and payload. */
function parseKitty(out: string): Array<{ keys: Record<string, string>; payload: string }> {
  const commands = [];
  for (const m of out.matchAll(/\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\/g)) {
    const keys = Object.fromEntries(m[1]!.split(',').map((kv) => kv.split('=') as [string, string]));
    commands.push({ keys, payload: m[2] ?? '' });
  }
  return commands;
}

t.test('kitty: zlib RGB in base64 chunks of 4096, m=1 on all but the last, decodes back', async (t) => {
  // Noise compresses badly, so the payload spans several chunks.
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  const img: RgbImage = { width: 120, height: 80, data: new Uint8Array(120 * 80 * 3).map(random) };
  const out = encodeKittyImage(img, { id: 42, cols: 30, rows: 10 });
  const commands = parseKitty(out);
  t.ok(commands.length > 2, `several chunks (${commands.length})`);
  const first = commands[0]!.keys;
  t.match(first, { a: 'T', f: '24', o: 'z', s: '120', v: '80', i: '42', c: '30', r: '10', q: '2', C: '1' });
  commands.forEach((c, i) => {
    t.ok(c.payload.length <= KITTY_CHUNK, 'chunk within 4096');
    t.equal(c.keys.m, i === commands.length - 1 ? '0' : '1');
    if (i > 0) t.same(Object.keys(c.keys), ['m'], 'continuation chunks carry only m');
    if (i < commands.length - 1) t.equal(c.payload.length, KITTY_CHUNK, 'full chunks before the last');
  });
  const pixels = inflateSync(Buffer.from(commands.map((c) => c.payload).join(''), 'base64'));
  t.same(new Uint8Array(pixels), img.data, 'payload inflates to the RGB pixels');
  t.same(parseKitty(kittyDelete(42))[0]!.keys, { a: 'd', d: 'I', i: '42', q: '2' });
});

t.test('kitty renderer: positions the cursor, reuses one id, scales to the cells', async (t) => {
  const r = new KittyRenderer(7);
  const placement = { left: 3, top: 2, cols: 20, rows: 5, imageWidth: 1920, imageHeight: 1080 };
  const a = r.draw(solidImage(1920, 1080, [9, 9, 9]), placement, { width: 8, height: 16 });
  t.ok(a.startsWith('\x1b[3;4H'));
  const keys = parseKitty(a)[0]!.keys;
  t.match(keys, { i: '7', s: '160', v: '80', c: '20', r: '5' });
  const b = parseKitty(r.draw(solidImage(1920, 1080, [1, 1, 1]), placement, { width: 8, height: 16 }))[0]!.keys;
  t.equal(b.i, '7', 'the next frame replaces the same image');
  t.equal(r.erase(), kittyDelete(7));
});

t.test('sixel: the output decodes back to the quantized picture', async (t) => {
  const img = quadrants(37, 25); // not a multiple of 6 rows
  const out = encodeSixel(img);
  const back = decodeSixel(out);
  t.equal(back.width, 37);
  t.equal(back.height, 25);
  const palette = sixelPalette();
  let mismatches = 0;
  for (let y = 0; y < 25; y++)
    for (let x = 0; x < 37; x++) {
      const want = palette[quantize(...(pixel(img, x, y) as [number, number, number]))]!;
      if (!near(pixel(back, x, y), want)) mismatches++;
    }
  t.equal(mismatches, 0, 'every pixel decodes to its palette colour');
  t.ok(out.length < 2000 + 252 * 20, 'flat areas are run-length coded');
});

t.test('sixel: a gradient with many colours per band decodes back', async (t) => {
  const w = 64;
  const h = 13;
  const img: RgbImage = { width: w, height: h, data: new Uint8Array(w * h * 3) };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data.set([x * 4, y * 19, (x * y) % 256], (y * w + x) * 3);
  const back = decodeSixel(encodeSixel(img));
  const palette = sixelPalette();
  let ok = true;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (!near(pixel(back, x, y), palette[quantize(...(pixel(img, x, y) as [number, number, number]))]!)) ok = false;
  t.ok(ok);
  t.same(palette[quantize(255, 0, 0)], [255, 0, 0], 'pure colours are exact');
  t.same(palette[quantize(255, 255, 255)], [255, 255, 255]);
});

t.test('sixel renderer scales to the placement in pixels', async (t) => {
  const out = new SixelRenderer().draw(
    quadrants(1280, 720),
    { left: 0, top: 1, cols: 16, rows: 5, imageWidth: 1280, imageHeight: 720 },
    { width: 10, height: 20 },
  );
  t.ok(out.startsWith('\x1b[2;1H\x1bP'));
  const back = decodeSixel(out.slice('\x1b[2;1H'.length));
  t.same([back.width, back.height], [160, 100]);
  t.same(pixel(back, 0, 0), [255, 0, 0]);
  t.same(pixel(back, 159, 99), [255, 255, 255]);
});

// Zoom and pan: the zoom steps, the visible region, the mouse mapped through it (property tests),
// cropping for every renderer, and 1:1 on small text showing more detail than the fitted view.
import t from 'tap';
import fc from 'fast-check';
import { inflateSync } from 'node:zlib';
import { type Placement, cellToRemote, fitImage } from '../../src/viewer-tty/graphics/fit.js';
import { HalfBlockRenderer } from '../../src/viewer-tty/graphics/half-blocks.js';
import { KittyRenderer } from '../../src/viewer-tty/graphics/kitty.js';
import { type RgbImage, cropImage } from '../../src/viewer-tty/graphics/rgb-image.js';
import { SixelRenderer } from '../../src/viewer-tty/graphics/sixel.js';
import {
  FIT_VIEW,
  type Screen,
  type View,
  type Zoom,
  fitScale,
  oneToOneScale,
  panView,
  placeView,
  stepZoom,
  zoomLabel,
  zoomLevels,
} from '../../src/viewer-tty/graphics/viewport.js';
import { mapMouse } from '../../src/viewer-tty/input/mouse-map.js';
import { CellScreen } from '../helpers/cell-screen.js';
import { decodeSixel } from '../helpers/sixel-decode.js';

const CELL = { width: 10, height: 20 };
const SCREEN: Screen = { cols: 160, rows: 47, cell: CELL };

/** Every zoom from fit upwards, as `+` steps through them. */
function stepsUp(fit: number, oneToOne?: number): Zoom[] {
  const seen: Zoom[] = ['fit'];
  for (let i = 0; i < 10; i++) {
    const next = stepZoom(seen.at(-1)!, 1, fit, oneToOne);
    if (next === seen.at(-1)) break;
    seen.push(next);
  }
  return seen;
}

t.test('zoom steps: fit, 1.5×, 2×, 3×, 4× and 1:1 in order of scale', async (t) => {
  // 1920×1080 in 160×47 cells of 10×20: fitted at 0.83 terminal px per remote px.
  const fit = fitScale(1920, 1080, SCREEN);
  t.equal(oneToOneScale('blocks', CELL, false), 10, 'half-blocks: one remote pixel per column, reported cell size or not');
  t.equal(oneToOneScale('kitty', CELL, true), 1);
  t.equal(oneToOneScale('sixel', CELL, false), undefined, 'no 1:1 on a guessed cell size');
  t.same(zoomLevels(fit, 10), ['fit', 1.5, 2, 3, 4, '1:1'], 'half-blocks: 1:1 is 12× the fitted view');
  t.same(zoomLevels(fit, 1), ['fit', '1:1', 1.5, 2, 3, 4], 'kitty: 1:1 is 1.2×');
  t.same(zoomLevels(fit), ['fit', 1.5, 2, 3, 4]);
  t.same(zoomLevels(0.5, 1), ['fit', 1.5, '1:1', 3, 4], 'a step within 3% of 1:1 is 1:1');
  t.same(zoomLevels(2, 1), ['fit', 1.5, 2, 3, 4], 'no 1:1 when the fitted view already magnifies');
  t.same(stepsUp(fit, 10), ['fit', 1.5, 2, 3, 4, '1:1']);
  t.equal(stepZoom('1:1', 1, fit, 10), '1:1', '+ at the last step stays');
  t.equal(stepZoom('1:1', -1, fit, 10), 4);
  t.equal(stepZoom(1.5, -1, fit, 10), 'fit');
  t.equal(stepZoom('fit', -1, fit, 10), 'fit');
  t.equal(stepZoom('1:1', -1, fit, 1), 'fit');
  t.same(
    ['fit', 1.5, 2, '1:1'].map((z) => zoomLabel(z as Zoom)),
    ['fit', '1.5×', '2×', '1:1'],
  );
});

t.test('the visible region: centred, clamped to the picture, panned a quarter at a time', async (t) => {
  t.same(placeView(1920, 1080, SCREEN, FIT_VIEW), {
    ...fitImage(1920, 1080, 160, 47, CELL),
    region: { x: 0, y: 0, width: 1920, height: 1080 },
  });
  const two = placeView(1920, 1080, SCREEN, { ...FIT_VIEW, zoom: 2 });
  t.same(two.region, { x: 480, y: 258, width: 960, height: 564 }, 'the middle, half as wide and high');
  t.same([two.left, two.top, two.cols, two.rows], [0, 0, 160, 47]);

  const oneToOne = placeView(1920, 1080, SCREEN, { zoom: '1:1', centerX: 0, centerY: 0 }, 10);
  t.same(
    oneToOne.region,
    { x: 0, y: 0, width: 160, height: 94 },
    'half-blocks 1:1: a column and half a row per remote pixel, at the top left',
  );
  t.same([oneToOne.cols, oneToOne.rows], [160, 47]);

  let view: View = { zoom: 2, centerX: 0.5, centerY: 0.5 };
  view = panView(view, placeView(1920, 1080, SCREEN, view), 1, 0);
  t.same(placeView(1920, 1080, SCREEN, view).region, { x: 720, y: 258, width: 960, height: 564 }, 'right by a quarter of 960');
  for (let i = 0; i < 5; i++) view = panView(view, placeView(1920, 1080, SCREEN, view), 1, -1);
  t.same(placeView(1920, 1080, SCREEN, view).region, { x: 960, y: 0, width: 960, height: 564 }, 'stops at the top right');
  view = panView(view, placeView(1920, 1080, SCREEN, view), -1, 0);
  t.same(placeView(1920, 1080, SCREEN, view).region!.x, 720, 'one step back left moves at once (no dead steps past the edge)');
  t.same(panView(FIT_VIEW, placeView(1920, 1080, SCREEN, FIT_VIEW), 1, 0), FIT_VIEW, 'no panning at fit');
});

const screens = fc.record({
  imageWidth: fc.integer({ min: 16, max: 4000 }),
  imageHeight: fc.integer({ min: 16, max: 3000 }),
  cols: fc.integer({ min: 4, max: 300 }),
  rows: fc.integer({ min: 2, max: 100 }),
  cellWidth: fc.integer({ min: 5, max: 20 }),
  cellHeight: fc.integer({ min: 8, max: 40 }),
  zoom: fc.constantFrom<Zoom>('fit', 1.5, 2, 3, 4, '1:1'),
  oneToOne: fc.constantFrom(1, 'cell'),
  centerX: fc.double({ min: 0, max: 1, noNaN: true }),
  centerY: fc.double({ min: 0, max: 1, noNaN: true }),
});

function placementFor(s: typeof screens extends fc.Arbitrary<infer T> ? T : never): Placement {
  const cell = { width: s.cellWidth, height: s.cellHeight };
  const screen = { cols: s.cols, rows: s.rows, cell };
  return placeView(
    s.imageWidth,
    s.imageHeight,
    screen,
    { zoom: s.zoom, centerX: s.centerX, centerY: s.centerY },
    s.oneToOne === 1 ? 1 : s.cellWidth,
  );
}

const click = (col: number, row: number) =>
  ({ kind: 'mouse', col, row, button: 'left', action: 'press', ctrl: false, alt: false, shift: false }) as const;

t.test('property: a click on a cell lands on a remote pixel under that cell, inside the region', async (t) => {
  fc.assert(
    fc.property(
      screens,
      fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      (s, fx, fy) => {
        const p = placementFor(s);
        const r = p.region!;
        // The region lies within the picture and fills the placement at the region's aspect ratio.
        if (r.x < 0 || r.y < 0 || r.width < 1 || r.height < 1 || r.x + r.width > s.imageWidth || r.y + r.height > s.imageHeight)
          return false;
        if (p.left < 0 || p.top < 0 || p.left + p.cols > s.cols || p.top + p.rows > s.rows) return false;
        const c = Math.floor(fx * p.cols);
        const rw = Math.floor(fy * p.rows);
        const at = mapMouse(click(p.left + c, p.top + rw), p);
        if (!at) return false;
        // The cell covers remote x in [r.x + c·k, r.x + (c+1)·k) with k = region width per column.
        const kx = r.width / p.cols;
        const ky = r.height / p.rows;
        const insideX = at.x >= r.x + Math.floor(c * kx) && at.x <= r.x + Math.ceil((c + 1) * kx) - 1;
        const insideY = at.y >= r.y + Math.floor(rw * ky) && at.y <= r.y + Math.ceil((rw + 1) * ky) - 1;
        return insideX && insideY && at.button === 1 && at.state === 1;
      },
    ),
    { numRuns: 2000 },
  );
  t.pass('2000 screens, zooms and clicks');
});

t.test('property: the mapping is monotonic, and nothing outside the picture is sent', async (t) => {
  fc.assert(
    fc.property(screens, fc.nat(), fc.nat(), (s, a, b) => {
      const p = placementFor(s);
      const row = p.top + (a % p.rows);
      const col = p.left + (b % p.cols);
      const xs = Array.from({ length: p.cols }, (_, i) => cellToRemote(p, p.left + i, row)!.x);
      const ys = Array.from({ length: p.rows }, (_, i) => cellToRemote(p, col, p.top + i)!.y);
      const increasing = (v: number[]) => v.every((x, i) => i === 0 || x >= v[i - 1]!);
      const outside = [
        [p.left - 1, row],
        [p.left + p.cols, row],
        [col, p.top - 1],
        [col, p.top + p.rows],
      ].every(([cc, rr]) => cc! < 0 || rr! < 0 || mapMouse(click(cc!, rr!), p) === undefined);
      return increasing(xs) && increasing(ys) && outside;
    }),
    { numRuns: 500 },
  );
  t.pass('500 screens');
});

t.test('zoomed in, a click maps into the region, not the whole picture', async (t) => {
  const p = placeView(1920, 1080, SCREEN, { zoom: '1:1', centerX: 0.5, centerY: 0.5 }, 10);
  t.same(p.region, { x: 880, y: 493, width: 160, height: 94 });
  t.same(mapMouse(click(0, 0), p), { x: 880, y: 494, button: 1, state: 1 }, 'top left cell: its column, the lower of its two pixels');
  t.same(mapMouse(click(37, 20), p), { x: 917, y: 534, button: 1, state: 1 });
  t.same(mapMouse(click(159, 46), p), { x: 1039, y: 586, button: 1, state: 1 });
});

/** White with "small text": a dense pattern of 1-pixel black strokes, as glyphs at 8 px. */
function smallTextPicture(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3).fill(255);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const inGlyph = x % 8 < 6 && y % 12 < 9;
      const stroke = x % 8 === 1 || y % 12 === 4 || (x + y) % 7 === 0;
      if (inGlyph && stroke) data.fill(0, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  return { width, height, data };
}

/** The half-block pixels of cells [c0, c1) × [r0, r1) as grey levels, two rows per cell. */
function screenPixels(screen: CellScreen, c0: number, c1: number, r0: number, r1: number): number[][] {
  const grey = (rgb: number[] | undefined) => (rgb ? (rgb[0]! + rgb[1]! + rgb[2]!) / 3 : 0);
  const out: number[][] = [];
  for (let r = r0; r < r1; r++) {
    out.push([], []);
    for (let c = c0; c < c1; c++) {
      out.at(-2)!.push(grey(screen.cells[r]![c]!.fg));
      out.at(-1)!.push(grey(screen.cells[r]![c]!.bg));
    }
  }
  return out;
}

/** Mean absolute difference between neighbouring pixels: how much edge a picture keeps. */
function edgeContrast(px: number[][]): number {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < px.length; y++)
    for (let x = 0; x < px[y]!.length; x++) {
      for (const [nx, ny] of [
        [x - 1, y],
        [x, y - 1],
      ] as const) {
        if (nx < 0 || ny < 0) continue;
        sum += Math.abs(px[y]![x]! - px[ny]![nx]!);
        n++;
      }
    }
  return sum / n;
}

t.test('1:1 on small text shows sharper cells than the fitted view (half-blocks)', async (t) => {
  const picture = smallTextPicture(1280, 720);
  const render = (placement: Placement) => {
    const screen = new CellScreen(SCREEN.cols, SCREEN.rows);
    const shown = placement.region ? cropImage(picture, placement.region) : picture;
    screen.apply(new HalfBlockRenderer().draw(shown, placement));
    return screen;
  };
  const zoomed = placeView(1280, 720, SCREEN, { zoom: '1:1', centerX: 0.3, centerY: 0.3 }, oneToOneScale('blocks', CELL, false));
  const r = zoomed.region!;
  t.same(r, { x: 304, y: 169, width: 160, height: 94 });
  const sharp = screenPixels(render(zoomed), 0, zoomed.cols, 0, zoomed.rows);

  // The same region in the fitted view: 1280×720 in 160×45 cells, 8 remote pixels per half-block.
  const fitted = placeView(1280, 720, SCREEN, FIT_VIEW);
  const kx = 1280 / fitted.cols;
  const ky = 720 / (fitted.rows * 2);
  const c0 = fitted.left + Math.floor(r.x / kx);
  const r0 = fitted.top + Math.floor(r.y / ky / 2);
  const blurred = screenPixels(
    render(fitted),
    c0,
    fitted.left + Math.ceil((r.x + r.width) / kx),
    r0,
    fitted.top + Math.ceil((r.y + r.height) / ky / 2),
  );

  const sharpness = edgeContrast(sharp);
  const fitSharpness = edgeContrast(blurred);
  t.ok(sharpness > fitSharpness, `edge contrast at 1:1 ${sharpness.toFixed(1)} > at fit ${fitSharpness.toFixed(1)}`);
  // At 1:1 every half-block is one remote pixel: the text's own black and white, nothing averaged.
  const exact = sharp.every((row, y) => row.every((v, x) => v === picture.data[((r.y + y) * 1280 + r.x + x) * 3]));
  t.ok(exact, '1:1 shows the remote pixels themselves');
  t.ok(
    blurred.flat().some((v) => v > 0 && v < 255),
    'the fitted view averages strokes into grey',
  );
});

t.test('every renderer draws the region only: cropped before scaling', async (t) => {
  // Quadrants red, green / blue, white; 2× on the top-left quarter's middle shows only red.
  const quadrants = (w: number, h: number): RgbImage => {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        data.set(y < h / 2 ? (x < w / 2 ? [255, 0, 0] : [0, 255, 0]) : x < w / 2 ? [0, 0, 255] : [255, 255, 255], (y * w + x) * 3);
    return { width: w, height: h, data };
  };
  const picture = quadrants(640, 360);
  t.same(cropImage(picture, { x: 0, y: 0, width: 640, height: 360 }), picture, 'the whole picture is not copied');
  const crop = cropImage(picture, { x: 316, y: 176, width: 8, height: 8 });
  t.same(
    [crop.width, crop.height, [...crop.data.subarray(0, 3)], [...crop.data.subarray(crop.data.length - 3)]],
    [8, 8, [255, 0, 0], [255, 255, 255]],
  );

  const small: Screen = { cols: 32, rows: 9, cell: CELL }; // 320×180 px: the picture at half size
  const p = placeView(640, 360, small, { zoom: 2, centerX: 0.25, centerY: 0.25 });
  t.same(p.region, { x: 0, y: 0, width: 320, height: 180 });
  const shown = cropImage(picture, p.region!);
  const colours = (rgb: Uint8Array) => {
    const seen = new Set<string>();
    for (let i = 0; i < rgb.length; i += 3) seen.add(rgb.subarray(i, i + 3).join(','));
    return [...seen];
  };
  const sixelOut = new SixelRenderer().draw(shown, p, CELL);
  const sixel = decodeSixel(sixelOut.slice(sixelOut.indexOf('\x1bP')));
  t.same([sixel.width, sixel.height], [p.cols * CELL.width, p.rows * CELL.height]);
  t.same(colours(sixel.data), ['255,0,0'], 'sixel: only the red quarter');
  const kittyOut = new KittyRenderer().draw(shown, p, CELL);
  const payload = [...kittyOut.matchAll(/\x1b_G[^;\x1b]*;([^\x1b]*)\x1b\\/g)].map((m) => m[1]).join('');
  t.same(colours(inflateSync(Buffer.from(payload, 'base64'))), ['255,0,0'], 'kitty: only the red quarter');
  const blocks = new CellScreen(32, 9);
  blocks.apply(new HalfBlockRenderer().draw(shown, p));
  t.ok(
    blocks.cells.slice(p.top, p.top + p.rows).every((row) => row.slice(p.left, p.left + p.cols).every((c) => c.fg?.join() === '255,0,0')),
    'half-blocks: only the red quarter',
  );
});

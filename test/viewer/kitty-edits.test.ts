// Redrawing only what changed: a window of the scaled picture is exactly those pixels of the whole
// scale (fast-check), a changed region maps to the scaled pixels it can alter, the kitty renderer
// sends small changes as edits of the image on screen (a=f) and everything else whole (a=T), and
// the compositor tells which regions changed between paints.
import fc from 'fast-check';
import t from 'tap';
import { inflateSync } from 'node:zlib';
import { kittyFrameEdits } from '../../src/viewer-tty/detect-graphics.js';
import { Compositor } from '../../src/viewer-tty/display/compositor.js';
import { MAX_EDITS, editWindows, regionsInView, scaledRegion } from '../../src/viewer-tty/graphics/changed-regions.js';
import type { Placement, Region } from '../../src/viewer-tty/graphics/fit.js';
import { KittyRenderer, encodeKittyEdit } from '../../src/viewer-tty/graphics/kitty.js';
import { type RgbImage, cropImage, scaleImage, scaleWindow, solidImage } from '../../src/viewer-tty/graphics/rgb-image.js';

function noise(width: number, height: number, seed: number): RgbImage {
  let s = seed >>> 0;
  const data = new Uint8Array(width * height * 3).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255);
  return { width, height, data };
}

/** A region inside `width × height` drawn from four fractions. */
const regionIn = (width: number, height: number) =>
  fc
    .tuple(fc.nat(width - 1), fc.nat(height - 1), fc.integer({ min: 1, max: width }), fc.integer({ min: 1, max: height }))
    .map(([x, y, w, h]): Region => ({ x, y, width: Math.min(w, width - x), height: Math.min(h, height - y) }));

const sizes = fc.record({
  width: fc.integer({ min: 1, max: 48 }),
  height: fc.integer({ min: 1, max: 40 }),
  toWidth: fc.integer({ min: 1, max: 64 }),
  toHeight: fc.integer({ min: 1, max: 56 }),
  seed: fc.integer(),
});

const same = (a: RgbImage, b: RgbImage) => a.width === b.width && a.height === b.height && Buffer.from(a.data).equals(Buffer.from(b.data));

t.test('scaleWindow gives exactly the pixels of the whole scale in its window', async (t) => {
  const cases = sizes.chain((s) => fc.record({ s: fc.constant(s), window: regionIn(s.toWidth, s.toHeight) }));
  fc.assert(
    fc.property(cases, ({ s, window }) => {
      const src = noise(s.width, s.height, s.seed);
      return same(scaleWindow(src, s.toWidth, s.toHeight, window), cropImage(scaleImage(src, s.toWidth, s.toHeight), window));
    }),
    { numRuns: 500 },
  );
  const src = noise(1920, 1080, 1);
  const window = { x: 700, y: 300, width: 90, height: 40 };
  t.ok(same(scaleWindow(src, 1000, 562, window), cropImage(scaleImage(src, 1000, 562), window)), '1080p into 1000×562');
  t.ok(same(scaleWindow(src, 1920, 1080, window), cropImage(src, window)), 'same size: a crop');
});

t.test('a changed region alters only the scaled pixels scaledRegion names', async (t) => {
  const cases = sizes.chain((s) => fc.record({ s: fc.constant(s), changed: regionIn(s.width, s.height) }));
  fc.assert(
    fc.property(cases, ({ s, changed }) => {
      const before = noise(s.width, s.height, s.seed);
      const after = { ...before, data: before.data.slice() };
      for (let y = changed.y; y < changed.y + changed.height; y++)
        for (let x = changed.x; x < changed.x + changed.width; x++)
          after.data.fill(255 - after.data[(y * s.width + x) * 3]!, (y * s.width + x) * 3, (y * s.width + x + 1) * 3);
      const a = scaleImage(before, s.toWidth, s.toHeight);
      const b = scaleImage(after, s.toWidth, s.toHeight);
      const w = scaledRegion(changed, before, { width: s.toWidth, height: s.toHeight });
      for (let y = 0; y < s.toHeight; y++)
        for (let x = 0; x < s.toWidth; x++) {
          const inside = x >= w.x && x < w.x + w.width && y >= w.y && y < w.y + w.height;
          const i = (y * s.toWidth + x) * 3;
          if (!inside && (a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] || a.data[i + 2] !== b.data[i + 2])) return false;
        }
      return true;
    }),
    { numRuns: 500 },
  );
  t.same(scaledRegion({ x: 960, y: 540, width: 64, height: 64 }, { width: 1920, height: 1080 }, { width: 1000, height: 562 }), {
    x: 499,
    y: 280,
    width: 36,
    height: 36,
  });
  t.same(
    scaledRegion({ x: 0, y: 0, width: 10, height: 10 }, { width: 100, height: 100 }, { width: 100, height: 100 }),
    {
      x: 0,
      y: 0,
      width: 11,
      height: 11,
    },
    'clipped to the picture',
  );
});

t.test('editWindows: whole redraw past a third of the area or too many regions', async (t) => {
  const size = { width: 1920, height: 1080 };
  t.equal(editWindows([{ x: 0, y: 0, width: 1200, height: 600 }], size, size), undefined, 'more than a third');
  t.equal(editWindows([{ x: 0, y: 0, width: 1000, height: 600 }], size, size)!.length, 1, 'less than a third');
  const many = Array.from({ length: MAX_EDITS + 1 }, (_, i) => ({ x: i * 64, y: 0, width: 64, height: 64 }));
  t.equal(editWindows(many, size, size), undefined, 'too many');
  t.same(editWindows([], size, size), [], 'nothing changed: nothing to redraw');
  const twice = { x: 64, y: 64, width: 64, height: 64 };
  const within = { x: 70, y: 70, width: 8, height: 8 };
  const elsewhere = { x: 640, y: 64, width: 64, height: 64 };
  t.same(
    editWindows([twice, within, twice, elsewhere], size, size),
    [scaledRegion(twice, size, size), scaledRegion(elsewhere, size, size)],
    'a part changed twice, or inside another, is redrawn once',
  );
});

t.test('regionsInView: changes seen in the zoomed part, clipped to it', async (t) => {
  const view = { x: 100.5, y: 50, width: 200.7, height: 100 };
  t.same(regionsInView([{ x: 150, y: 60, width: 20, height: 10 }], view), [{ x: 50, y: 10, width: 20, height: 10 }]);
  t.same(regionsInView([{ x: 280, y: 140, width: 64, height: 64 }], view), [{ x: 180, y: 90, width: 20, height: 10 }], 'clipped');
  t.same(regionsInView([{ x: 0, y: 0, width: 64, height: 64 }], view), [], 'outside: dropped');
});

function parseKitty(out: string): Array<{ keys: Record<string, string>; payload: string }> {
  return [...out.matchAll(/\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\/g)].map((m) => ({
    keys: Object.fromEntries(m[1]!.split(',').map((kv) => kv.split('=') as [string, string])),
    payload: m[2] ?? '',
  }));
}

/** Applies the edits (a=f) in `out` to `img` in place, as kitty does to the image's root frame. */
function applyEdits(img: RgbImage, out: string): void {
  let current: { keys: Record<string, string>; payload: string } | undefined;
  for (const c of parseKitty(out)) {
    if (c.keys.a) current = { keys: c.keys, payload: c.payload };
    else current!.payload += c.payload;
    if (c.keys.m !== '0') continue;
    const { x, y, s, v } = current!.keys;
    const rect = { width: Number(s), height: Number(v), data: new Uint8Array(inflateSync(Buffer.from(current!.payload, 'base64'))) };
    for (let row = 0; row < rect.height; row++)
      img.data.set(rect.data.subarray(row * rect.width * 3, (row + 1) * rect.width * 3), ((Number(y) + row) * img.width + Number(x)) * 3);
  }
}

t.test('kitty renderer: a small change goes as edits of the image on screen', async (t) => {
  const r = new KittyRenderer(9);
  const cell = { width: 10, height: 20 };
  const placement: Placement = { left: 0, top: 1, cols: 100, rows: 28, imageWidth: 1920, imageHeight: 1080 };
  const frame = noise(1920, 1080, 7);
  const first = parseKitty(r.draw(frame, placement, cell, []));
  t.equal(first[0]!.keys.a, 'T', 'the first draw is whole, whatever changed');
  const onScreen = scaleImage(frame, 1000, 560);

  const changed = [
    { x: 960, y: 540, width: 64, height: 64 },
    { x: 0, y: 1016, width: 200, height: 64 },
  ];
  for (const c of changed) frame.data.set(noise(c.width, 1, c.x).data, (c.y * 1920 + c.x) * 3);
  const out = r.draw(frame, placement, cell, changed);
  const commands = parseKitty(out).filter((c) => c.keys.a);
  t.same(
    commands.map((c) => c.keys.a),
    ['f', 'f'],
    'one edit per region, nothing whole',
  );
  t.match(commands[0]!.keys, { r: '1', i: '9', f: '24', o: 'z', X: '1', q: '2', x: '499', y: '279' });
  t.notOk(out.includes('\x1b['), 'no cursor move: an edit places nothing');
  applyEdits(onScreen, out);
  t.ok(same(onScreen, scaleImage(frame, 1000, 560)), 'the edited image is the whole picture scaled');
  t.ok(out.length < 40_000, `a small change costs little (${out.length} bytes)`);
  t.equal(r.draw(frame, placement, cell, []), '', 'nothing changed: nothing sent');

  t.equal(parseKitty(r.draw(frame, placement, cell))[0]!.keys.a, 'T', 'unknown changes: whole');
  t.equal(parseKitty(r.draw(frame, { ...placement, left: 1 }, cell, changed))[0]!.keys.a, 'T', 'moved: whole');
  r.invalidate();
  t.equal(parseKitty(r.draw(frame, { ...placement, left: 1 }, cell, changed))[0]!.keys.a, 'T', 'after invalidate: whole');
  r.erase();
  t.equal(parseKitty(r.draw(frame, { ...placement, left: 1 }, cell, changed))[0]!.keys.a, 'T', 'after erase (image deleted): whole');
  const zoomed = { ...placement, left: 1, region: { x: 0, y: 0, width: 960, height: 540 } };
  t.equal(parseKitty(r.draw(frame, zoomed, cell, changed))[0]!.keys.a, 'T', 'another view of the picture: whole');
  const big = [{ x: 0, y: 0, width: 1920, height: 540 }];
  t.equal(parseKitty(r.draw(frame, zoomed, cell, big))[0]!.keys.a, 'T', 'a large change: whole');
  t.same(parseKitty(encodeKittyEdit(solidImage(2, 1, [1, 2, 3]), { id: 5, x: 3, y: 4 }))[0]!.keys, {
    a: 'f',
    r: '1',
    i: '5',
    x: '3',
    y: '4',
    s: '2',
    v: '1',
    f: '24',
    o: 'z',
    X: '1',
    q: '2',
    m: '0',
  });
});

t.test('compositor: the regions changed between paints', async (t) => {
  const c = new Compositor();
  c.replace(solidImage(640, 360, [0, 0, 0]), 1n);
  t.equal(c.takeChanged(), undefined, 'a whole frame: all of it');
  t.same(c.takeChanged(), [], 'then nothing');
  c.blit(solidImage(64, 32, [1, 1, 1]), 10, 20);
  c.blit(solidImage(8, 8, [1, 1, 1]), 0, 0);
  t.same(c.takeChanged(), [
    { x: 10, y: 20, width: 64, height: 32 },
    { x: 0, y: 0, width: 8, height: 8 },
  ]);
  for (let i = 0; i < 65; i++) c.blit(solidImage(1, 1, [1, 1, 1]), i, 0);
  t.equal(c.takeChanged(), undefined, 'too many to keep: all of it');
});

t.test('edits only in kitty itself: other kitty-protocol terminals ignore them and get whole pictures', async (t) => {
  t.ok(kittyFrameEdits({ KITTY_WINDOW_ID: '1', TERM: 'xterm-kitty' }), 'kitty');
  t.ok(kittyFrameEdits({ TERM: 'xterm-kitty' }), 'kitty over ssh (its TERM)');
  t.notOk(kittyFrameEdits({ TERM_PROGRAM: 'ghostty', TERM: 'xterm-ghostty' }), 'Ghostty');
  t.notOk(kittyFrameEdits({ TERM_PROGRAM: 'WezTerm', TERM: 'xterm-256color' }), 'WezTerm');
  t.notOk(kittyFrameEdits({ TERM: 'xterm-256color', KONSOLE_VERSION: '230800' }), 'Konsole');
  t.notOk(kittyFrameEdits({ KITTY_WINDOW_ID: '1', TERM_PROGRAM: 'ghostty', TERM: 'xterm-ghostty' }), 'Ghostty started from a kitty shell');
  const r = new KittyRenderer(9, { edits: false });
  const placement: Placement = { left: 0, top: 0, cols: 10, rows: 5, imageWidth: 200, imageHeight: 100 };
  const frame = noise(200, 100, 3);
  r.draw(frame, placement, { width: 10, height: 20 });
  const out = r.draw(frame, placement, { width: 10, height: 20 }, [{ x: 0, y: 0, width: 8, height: 8 }]);
  t.equal(parseKitty(out)[0]!.keys.a, 'T', 'a small change, drawn whole');
});

t.test('kitty renderer: edits applied to the image on screen always give the whole picture scaled', async (t) => {
  const cases = sizes.chain((s) =>
    fc.record({
      s: fc.constant(s),
      changes: fc.array(fc.tuple(regionIn(s.width, s.height), fc.integer()), { minLength: 1, maxLength: 4 }),
    }),
  );
  let edited = 0;
  fc.assert(
    fc.property(cases, ({ s, changes }) => {
      const r = new KittyRenderer(1);
      const cell = { width: 1, height: 1 };
      const placement: Placement = { left: 0, top: 0, cols: s.toWidth, rows: s.toHeight, imageWidth: s.width, imageHeight: s.height };
      const frame = noise(s.width, s.height, s.seed);
      r.draw(frame, placement, cell);
      const width = Math.min(s.width, s.toWidth);
      const height = Math.min(s.height, s.toHeight);
      const onScreen = scaleImage(frame, width, height);
      for (const [c, seed] of changes)
        for (let y = c.y; y < c.y + c.height; y++) frame.data.set(noise(c.width, 1, seed + y).data, (y * s.width + c.x) * 3);
      const out = r.draw(
        frame,
        placement,
        cell,
        changes.map(([c]) => c),
      );
      if (!out.startsWith('\x1b_Ga=f,')) return out.includes('a=T,');
      edited++;
      applyEdits(onScreen, out);
      return same(onScreen, scaleImage(frame, width, height));
    }),
    { numRuns: 300 },
  );
  t.ok(edited > 30, `${edited} of 300 runs drawn as edits, each matching the whole picture`);
});

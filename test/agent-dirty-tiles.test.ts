// The agent's tile comparison (src/agent/platform/dirty-tiles.ts) on generated pictures: every
// changed pixel lies in a rectangle, every rectangle lies on changed tiles' rows and columns
// (tile-aligned, inside the frame), there are never more than the limit, an unchanged picture
// gives none, and a mostly changed picture gives a whole frame. Reported changes become at most a
// few tile-aligned regions that cover them; comparing only those regions (captured again) finds
// what comparing the whole picture finds, and leaves the picture equal to the new one.
import t from 'tap';
import fc from 'fast-check';
import { DEFAULT_MAX_RECTS, TILE_SIDE, cropFrame, dirtyRects, dirtyRectsIn, tileRegions } from '../src/agent/platform/dirty-tiles.js';
import type { CapturedFrame, Rect } from '../src/agent/platform/screen-capture.js';

/** A B,G,R,X frame with a row padding of 8 bytes (strides need not be width × 4). */
function frame(width: number, height: number, seed: number): CapturedFrame {
  const stride = width * 4 + 8;
  const data = Buffer.alloc(stride * height);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed) & 0xff;
  return { data, width, height, stride };
}

function changed(base: CapturedFrame, boxes: Rect[]): { next: CapturedFrame; pixels: [number, number][] } {
  const next = { ...base, data: Buffer.from(base.data) };
  const pixels: [number, number][] = [];
  for (const b of boxes)
    for (let y = b.y; y < Math.min(base.height, b.y + b.height); y++)
      for (let x = b.x; x < Math.min(base.width, b.x + b.width); x++) {
        next.data[y * base.stride + x * 4] = base.data[y * base.stride + x * 4]! ^ 0xff;
        pixels.push([x, y]);
      }
  return { next, pixels };
}

const contains = (r: Rect, x: number, y: number) => x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height;

t.test('rectangles cover every change, on whole tiles, within the limit', async (t) => {
  const box = fc.record({
    x: fc.integer({ min: 0, max: 639 }),
    y: fc.integer({ min: 0, max: 399 }),
    width: fc.integer({ min: 1, max: 120 }),
    height: fc.integer({ min: 1, max: 120 }),
  });
  const base = frame(640, 400, 3);
  fc.assert(
    fc.property(fc.array(box, { minLength: 1, maxLength: 30 }), (boxes) => {
      const { next, pixels } = changed(base, boxes);
      const result = dirtyRects(base, next);
      if (result.full) return true;
      const rects = result.rects;
      if (rects.length < 1 || rects.length > DEFAULT_MAX_RECTS) return false;
      const aligned = rects.every(
        (r) =>
          r.x % TILE_SIDE === 0 &&
          r.y % TILE_SIDE === 0 &&
          r.x + r.width <= 640 &&
          r.y + r.height <= 400 &&
          ((r.x + r.width) % TILE_SIDE === 0 || r.x + r.width === 640) &&
          ((r.y + r.height) % TILE_SIDE === 0 || r.y + r.height === 400),
      );
      return aligned && pixels.every(([x, y]) => rects.some((r) => contains(r, x, y)));
    }),
    { numRuns: 150 },
  );
  t.pass('150 random sets of changed boxes');
});

t.test('one small change is one tile; none is none; most of the picture is a whole frame', async (t) => {
  const base = frame(1920, 1080, 9);
  t.same(dirtyRects(base, changed(base, [{ x: 650, y: 300, width: 8, height: 16 }]).next), {
    full: false,
    rects: [{ x: 640, y: 256, width: 64, height: 64 }],
  });
  t.same(dirtyRects(base, { ...base, data: Buffer.from(base.data) }), { full: false, rects: [] });
  t.same(dirtyRects(base, changed(base, [{ x: 0, y: 0, width: 1920, height: 600 }]).next), { full: true }, 'more than half');
  t.same(dirtyRects(base, frame(1280, 720, 9)), { full: true }, 'another size');
  const moved = changed(base, [
    { x: 100, y: 100, width: 300, height: 200 },
    { x: 1000, y: 600, width: 300, height: 200 },
  ]).next;
  t.same(
    dirtyRects(base, moved),
    {
      full: false,
      rects: [
        { x: 64, y: 64, width: 384, height: 256 },
        { x: 960, y: 576, width: 384, height: 256 },
      ],
    },
    'a window moved: where it was and where it is',
  );
});

t.test('cropFrame packs a rectangle of a padded frame', async (t) => {
  const base = frame(200, 100, 1);
  const crop = cropFrame(base, { x: 64, y: 10, width: 20, height: 3 });
  t.equal(crop.stride, 80);
  t.same(crop.data.subarray(80, 160), base.data.subarray(11 * base.stride + 256, 11 * base.stride + 336));
});

t.test('comparing only the regions reported changed finds what the whole compare finds', async (t) => {
  const box = fc.record({
    x: fc.integer({ min: 0, max: 639 }),
    y: fc.integer({ min: 0, max: 399 }),
    width: fc.integer({ min: 1, max: 90 }),
    height: fc.integer({ min: 1, max: 90 }),
  });
  const base = frame(640, 400, 5);
  let compared = 0;
  fc.assert(
    fc.property(fc.array(box, { minLength: 1, maxLength: 12 }), (boxes) => {
      const { next, pixels } = changed(base, boxes);
      const regions = tileRegions(boxes, 640, 400, 4);
      if (!regions) return true;
      if (regions.length > 4 || !pixels.every(([x, y]) => regions.some((r) => contains(r, x, y)))) return false;
      const picture = { ...base, data: Buffer.from(base.data) };
      const found = dirtyRectsIn(
        picture,
        regions.map((rect) => ({ rect, frame: cropFrame(next, rect) })),
      );
      compared++;
      return JSON.stringify(found) === JSON.stringify(dirtyRects(base, next)) && picture.data.equals(next.data);
    }),
    { numRuns: 150 },
  );
  t.ok(compared > 100, `${compared} random sets of changes compared by region`);
  t.same(tileRegions([{ x: 650, y: 300, width: 8, height: 16 }], 1920, 1080, 4), [{ x: 640, y: 256, width: 64, height: 64 }]);
  t.same(
    tileRegions([{ x: 1900, y: 1070, width: 50, height: 50 }], 1920, 1080, 4),
    [{ x: 1856, y: 1024, width: 64, height: 56 }],
    'clipped at the edge',
  );
});

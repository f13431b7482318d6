// --max-width: the box filter that shrinks captured B,G,R,X frames before encoding.
import fc from 'fast-check';
import t from 'tap';
import { downscale, scaledSize } from '../src/agent/platform/downscale.js';

function frame(width: number, height: number, stride: number, pixel: (x: number, y: number) => [number, number, number]) {
  const data = Buffer.alloc(stride * height, 0xee); // row padding must never leak into the result
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [b, g, r] = pixel(x, y);
      data.set([b, g, r, 0], y * stride + x * 4);
    }
  }
  return { data, width, height, stride };
}

t.test('scaledSize keeps the aspect ratio and never enlarges', async (t) => {
  t.same(scaledSize(1920, 1080, 960), { width: 960, height: 540 });
  t.same(scaledSize(1280, 1024, 960), { width: 960, height: 768 });
  t.same(scaledSize(800, 600, 960), { width: 800, height: 600 });
  t.same(scaledSize(800, 600, undefined), { width: 800, height: 600 });
  t.same(scaledSize(4000, 1, 100), { width: 100, height: 1 });
});

t.test('a 2× shrink averages each 2×2 block', async (t) => {
  const src = frame(4, 2, 16, (x) => (x < 2 ? [0, 100, 200] : [x === 2 ? 10 : 30, 0, 255]));
  const out = downscale(src, 2, 1);
  t.same({ width: out.width, height: out.height, stride: out.stride }, { width: 2, height: 1, stride: 8 });
  t.same([...out.data], [0, 100, 200, 0, 20, 0, 255, 0]);
});

t.test('a uniform picture stays uniform at any size, whatever the stride', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 48 }),
      fc.integer({ min: 0, max: 3 }),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })),
      fc.integer({ min: 1, max: 64 }),
      (width, height, pad, color, maxWidth) => {
        const src = frame(width, height, (width + pad) * 4, () => color);
        const size = scaledSize(width, height, maxWidth);
        const out = downscale(src, size.width, size.height);
        if (out.width !== size.width || out.height !== size.height) return false;
        for (let i = 0; i < out.width * out.height; i++) {
          const o = Math.floor(i / out.width) * out.stride + (i % out.width) * 4;
          if (out.data[o] !== color[0] || out.data[o + 1] !== color[1] || out.data[o + 2] !== color[2]) return false;
        }
        return true;
      },
    ),
  );
  t.pass('uniform in, uniform out');
});

t.test('the left and right halves stay apart', async (t) => {
  const src = frame(1920, 10, 1920 * 4, (x) => (x < 960 ? [255, 0, 0] : [0, 0, 255]));
  const out = downscale(src, 640, 3);
  t.same([...out.data.subarray(0, 3)], [255, 0, 0], 'left edge blue (B,G,R)');
  t.same([...out.data.subarray(319 * 4, 319 * 4 + 3)], [255, 0, 0], 'last left pixel');
  t.same([...out.data.subarray(320 * 4, 320 * 4 + 3)], [0, 0, 255], 'first right pixel');
});

// The helpers agent, viewer and CLI share (src/shared, src/protocol/session-code.ts): one box
// filter for both pixel layouts, one reconnect schedule, one session-code check.
import fc from 'fast-check';
import t from 'tap';
import { downscale } from '../src/agent/platform/downscale.js';
import { compactSessionCode, isSessionCode } from '../src/protocol/session-code.js';
import { backoffDelay } from '../src/shared/backoff.js';
import { scaleImage } from '../src/viewer-tty/graphics/rgb-image.js';

t.test("the agent's B,G,R,X shrink and the viewer's RGB shrink give the same colours", async (t) => {
  const picture = fc.integer({ min: 1, max: 24 }).chain((width) =>
    fc.record({
      width: fc.constant(width),
      height: fc.integer({ min: 1, max: 16 }),
      pad: fc.integer({ min: 0, max: 2 }),
      seed: fc.integer(),
      toWidth: fc.integer({ min: 1, max: width }),
    }),
  );
  fc.assert(
    fc.property(picture, ({ width, height, pad, seed, toWidth }) => {
      const toHeight = Math.max(1, Math.floor((height * toWidth) / width));
      const rgb = new Uint8Array(width * height * 3).map((_, i) => (i * 7919 + seed) & 0xff);
      const stride = (width + pad) * 4;
      const bgrx = Buffer.alloc(stride * height, 0xee);
      for (let p = 0; p < width * height; p++) {
        const o = Math.floor(p / width) * stride + (p % width) * 4;
        bgrx.set([rgb[p * 3 + 2]!, rgb[p * 3 + 1]!, rgb[p * 3]!, 0], o);
      }
      const viewer = scaleImage({ width, height, data: rgb }, toWidth, toHeight);
      const agent = downscale({ data: bgrx, width, height, stride }, toWidth, toHeight);
      for (let p = 0; p < toWidth * toHeight; p++) {
        const o = Math.floor(p / toWidth) * agent.stride + (p % toWidth) * 4;
        const fromAgent = [agent.data[o + 2], agent.data[o + 1], agent.data[o]];
        if (fromAgent.some((v, c) => v !== viewer.data[p * 3 + c])) return false;
      }
      return true;
    }),
  );
  t.pass('same average per pixel, whatever the layout');
});

t.test('reconnect delays double from 0.5 s and stop at 10 s', async (t) => {
  t.same(
    [0, 1, 2, 3, 4, 5, 6, 50].map((attempt) => backoffDelay(attempt)),
    [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000],
  );
  t.same(
    [0, 1, 5].map((attempt) => backoffDelay(attempt, 20)),
    [20, 40, 640],
    'a shorter base for tests keeps the doubling',
  );
});

t.test('a session code is nine ASCII digits, however it was written', async (t) => {
  t.ok(isSessionCode('012345678'));
  for (const bad of ['12345678', '1234567890', '12345678a', '１２３４５６７８９', ' 123456789', '']) t.notOk(isSessionCode(bad), bad);
  t.equal(compactSessionCode('482 916-573'), '482916573');
  t.ok(isSessionCode(compactSessionCode('482-916-573')));
});

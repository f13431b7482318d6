// The agent's quality controller (src/agent/session/quality-controller.ts), with fast-check: quality
// and fps stay between the floors and the --quality/--fps ceilings whatever the reports say;
// sustained loss brings them down to the floors; clean reports bring them back to the ceilings;
// the worst viewer steers; a pin holds until the viewer hands the values back.
import t from 'tap';
import fc from 'fast-check';
import { MIN_AUTO_FPS, MIN_AUTO_QUALITY, QualityController, type ViewerWindow, judge } from '../src/agent/session/quality-controller.js';

const CLEAN: ViewerWindow = { frames: 15, lost: 0, rttMs: 30, decodeMs: 5 };
const LOSSY: ViewerWindow = { frames: 12, lost: 3, rttMs: 30, decodeMs: 5 };
const IDLE_SENDER = { busyShare: 0 };

const ceilings = fc.record({ quality: fc.integer({ min: 1, max: 100 }), fps: fc.integer({ min: 1, max: 60 }) });
const window: fc.Arbitrary<ViewerWindow> = fc.record(
  {
    frames: fc.integer({ min: 0, max: 200 }),
    lost: fc.integer({ min: 0, max: 200 }),
    decodeMs: fc.integer({ min: 0, max: 2000 }),
    rttMs: fc.integer({ min: 0, max: 5000 }),
  },
  { requiredKeys: ['frames', 'lost'] },
);
const step = fc.oneof(
  fc.record({
    kind: fc.constant('report' as const),
    viewer: fc.integer({ min: 1, max: 3 }),
    window,
    busy: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  fc.record({ kind: fc.constant('silent' as const), viewer: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('forget' as const), viewer: fc.integer({ min: 1, max: 3 }) }),
);

function reportTimes(controller: QualityController, times: number, windowOf: ViewerWindow, viewer = 1): void {
  for (let i = 0; i < times; i++) controller.report(viewer, windowOf, IDLE_SENDER);
}

t.test('quality and fps stay within [floor, ceiling] whatever the reports say', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(ceilings, fc.array(step, { maxLength: 200 }), (ceiling, steps) => {
        const controller = new QualityController(ceiling);
        const floor = { quality: Math.min(MIN_AUTO_QUALITY, ceiling.quality), fps: Math.min(MIN_AUTO_FPS, ceiling.fps) };
        for (const s of steps) {
          if (s.kind === 'report') controller.report(s.viewer, s.window, { busyShare: s.busy });
          else if (s.kind === 'silent') controller.silent(s.viewer);
          else controller.forget(s.viewer);
          const { quality, fps, auto } = controller.settings;
          if (!auto || quality < floor.quality || quality > ceiling.quality || fps < floor.fps || fps > ceiling.fps) return false;
          if (!Number.isInteger(quality) || !Number.isInteger(fps)) return false;
        }
        return true;
      }),
      { numRuns: 500 },
    ),
  );
});

t.test('sustained loss brings both to the floors; clean reports bring both back to the ceilings', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        ceilings,
        fc
          .integer({ min: 1, max: 100 })
          .chain((frames) => fc.record({ frames: fc.constant(frames), lost: fc.integer({ min: Math.ceil(frames / 10), max: 200 }) })),
        (ceiling, lossy) => {
          const controller = new QualityController(ceiling);
          reportTimes(controller, 30, lossy);
          const low = controller.settings;
          if (low.quality !== Math.min(MIN_AUTO_QUALITY, ceiling.quality) || low.fps !== Math.min(MIN_AUTO_FPS, ceiling.fps)) return false;
          reportTimes(controller, 60, CLEAN);
          const back = controller.settings;
          return back.quality === ceiling.quality && back.fps === ceiling.fps;
        },
      ),
      { numRuns: 300 },
    ),
  );
});

t.test('each lossy report cuts at once; the way back up is slower than the way down', async (t) => {
  const controller = new QualityController({ quality: 80, fps: 30 });
  controller.report(1, LOSSY, IDLE_SENDER);
  t.ok(controller.settings.quality < 80 && controller.settings.fps < 30, `one lossy report cuts: ${JSON.stringify(controller.settings)}`);
  let down = 1;
  while (controller.settings.quality > MIN_AUTO_QUALITY || controller.settings.fps > MIN_AUTO_FPS) {
    controller.report(1, LOSSY, IDLE_SENDER);
    down++;
  }
  let up = 0;
  while (controller.settings.quality < 80 || controller.settings.fps < 30) {
    controller.report(1, CLEAN, IDLE_SENDER);
    up++;
  }
  t.ok(up > 2 * down, `${down} reports down, ${up} back up`);
});

t.test('what a window says: loss, a growing round trip, a busy sender, a slow viewer', async (t) => {
  t.equal(judge(CLEAN, IDLE_SENDER, [30, 32], 15), 'clean');
  t.equal(judge(LOSSY, IDLE_SENDER, [30], 15), 'congested', '20 % of frames lost');
  t.equal(judge({ frames: 100, lost: 1 }, IDLE_SENDER, [], 15), 'hold', '1 % lost: neither cut nor raised');
  t.equal(judge({ ...CLEAN, rttMs: 400 }, IDLE_SENDER, [30, 35, 400], 15), 'congested', 'round trip far above its best');
  t.equal(judge({ ...CLEAN, rttMs: 60 }, IDLE_SENDER, [30, 60], 15), 'clean', 'a round trip within twice its best plus slack');
  t.equal(judge(CLEAN, { busyShare: 0.8 }, [30], 15), 'congested', 'the send queue backs up');
  t.equal(judge({ ...CLEAN, decodeMs: 90 }, IDLE_SENDER, [30], 15), 'slow_viewer', '90 ms to decode at 15 fps');
  t.equal(judge({ frames: 0, lost: 0 }, IDLE_SENDER, [], 15), 'clean', 'a still picture sends nothing and loses nothing');
});

t.test('the worst viewer steers: one lossy viewer keeps the stream down', async (t) => {
  const controller = new QualityController({ quality: 60, fps: 15 });
  for (let i = 0; i < 10; i++) {
    controller.report(1, CLEAN, IDLE_SENDER);
    controller.report(2, LOSSY, IDLE_SENDER);
  }
  t.same(controller.settings, { quality: MIN_AUTO_QUALITY, fps: MIN_AUTO_FPS, auto: true });
  controller.forget(2);
  reportTimes(controller, 40, CLEAN);
  t.same(controller.settings, { quality: 60, fps: 15, auto: true }, 'the lossy viewer left: back up');
});

t.test('a viewer that stops reporting counts as a lost link; one that never reported does not steer', async (t) => {
  const controller = new QualityController({ quality: 60, fps: 15 });
  controller.silent(7);
  t.same(controller.settings, { quality: 60, fps: 15, auto: true }, 'viewer 7 never reported');
  t.notOk(controller.reporting(7));
  controller.report(7, CLEAN, IDLE_SENDER);
  controller.silent(7);
  t.ok(controller.settings.quality < 60, 'silence after reports cuts');
});

t.test('a pin holds whatever the reports say, under the ceilings; auto resumes from it', async (t) => {
  const controller = new QualityController({ quality: 60, fps: 15 });
  controller.pin(90, 30);
  t.same(controller.settings, { quality: 60, fps: 15, auto: false }, 'never above --quality / --fps');
  controller.pin(25, 4);
  reportTimes(controller, 10, LOSSY);
  t.same(controller.settings, { quality: 25, fps: 4, auto: false }, 'pinned: loss changes nothing');
  controller.automatic();
  t.same(controller.settings, { quality: 25, fps: 4, auto: true });
  reportTimes(controller, 60, CLEAN);
  t.same(controller.settings, { quality: 60, fps: 15, auto: true });
});

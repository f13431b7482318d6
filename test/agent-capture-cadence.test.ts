// Idle capture (src/agent/session/capture-cadence.ts) on an injected clock: every tick captures
// while the picture changes, after IDLE_AFTER_MS of nothing only one tick per 1/IDLE_FPS s does,
// and a change or input brings the full rate back at once. A tick that found nothing to capture
// does not hold back the change that follows it.
import t from 'tap';
import { CaptureCadence, IDLE_AFTER_MS, IDLE_FPS } from '../src/agent/session/capture-cadence.js';

/** Ticks every `tickMs` from `from` to `to`; returns how many captured. */
function captures(cadence: CaptureCadence, clock: { now: number }, from: number, to: number, tickMs: number, changes = false): number {
  let count = 0;
  for (clock.now = from; clock.now < to; clock.now += tickMs) {
    if (!cadence.shouldCapture()) continue;
    count++;
    if (changes) cadence.activity();
  }
  return count;
}

t.test('full rate while changing, IDLE_FPS when still, full rate again on input', async (t) => {
  const clock = { now: 0 };
  const cadence = new CaptureCadence(() => clock.now);
  const tick = 1000 / 15;
  t.equal(captures(cadence, clock, 0, 2000, tick, true), 30, 'a changing picture: every tick of 2 s at 15 fps');
  const settle = captures(cadence, clock, 2000, 2000 + IDLE_AFTER_MS, tick);
  t.equal(settle, 15, 'for IDLE_AFTER_MS after the last change, still every tick');
  t.ok(cadence.idle, 'then idle');
  const idle = captures(cadence, clock, 3000, 13_000, tick);
  t.ok(idle >= IDLE_FPS * 10 - 1 && idle <= IDLE_FPS * 10, `10 still seconds: ${idle} captures (${IDLE_FPS} a second)`);
  cadence.activity();
  t.notOk(cadence.idle, 'input ends idling');
  t.equal(captures(cadence, clock, 13_000, 13_950, tick), 15, 'every tick of the next second');
});

t.test('a change reported between ticks is captured early, never faster than the frame rate', async (t) => {
  const clock = { now: 0 };
  const cadence = new CaptureCadence(() => clock.now);
  const interval = 1000 / 15;
  cadence.setFrameInterval(interval);
  t.ok(cadence.shouldCapture(), 'the first capture');
  t.ok(cadence.delayUntilAllowed() > interval - 10, 'right after it, the next waits about a frame interval');
  clock.now = 20;
  cadence.activity();
  t.notOk(cadence.shouldCapture(), 'a change 20 ms later is not captured at once…');
  clock.now = 20 + cadence.delayUntilAllowed();
  t.ok(cadence.shouldCapture(), '…but when the delay it was given has passed');
  clock.now = 5000;
  t.ok(cadence.idle, 'a quiet screen idles');
  cadence.activity();
  t.equal(cadence.delayUntilAllowed(), 0, 'a change after a quiet period: no delay');
  t.ok(cadence.shouldCapture(), 'and it is captured');
});

t.test('a tick that captured nothing does not delay the next change', async (t) => {
  const clock = { now: 0 };
  const cadence = new CaptureCadence(() => clock.now);
  const interval = 1000 / 30;
  cadence.setFrameInterval(interval);
  cadence.activity(); // not idle: every frame interval may capture
  t.ok(cadence.shouldCapture(), 'a capture at 0');
  clock.now = 2 * interval;
  t.ok(cadence.shouldCapture(), 'a tick at two intervals may capture…');
  cadence.notCaptured();
  clock.now = 2 * interval + 5;
  cadence.activity();
  t.equal(cadence.delayUntilAllowed(), 0, '…but found nothing: a change 5 ms later is captured at once');
  t.ok(cadence.shouldCapture());
  t.ok(cadence.delayUntilAllowed() > interval - 10, 'and that one counts: the next waits a frame interval');
});

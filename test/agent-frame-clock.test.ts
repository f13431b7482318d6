// frame-clock.ts, with real timers: a change the display reports while an update is still going
// out is not lost; it is captured as soon as that update is out (captureDone), not at the next tick.
import t from 'tap';
import { CaptureCadence } from '../src/agent/session/capture-cadence.js';
import { FrameClock } from '../src/agent/session/frame-clock.js';
import { PATIENCE_MS } from './helpers/patience.js';

/** A clock at 1 fps (its own ticks a second apart), a display whose changes the test reports, and each early tick. */
function clockWithDisplay() {
  let report: (() => void) | undefined;
  let busy = false;
  const early: string[] = [];
  let wake: () => void = () => undefined;
  const clock = new FrameClock({
    cadence: new CaptureCadence(),
    tick: (isEarly) => {
      if (!isEarly) return;
      early.push(busy ? 'while busy' : 'when free');
      wake();
    },
    busy: () => busy,
    watchChanges: (onChange) => {
      report = onChange;
      return () => (report = undefined);
    },
  });
  clock.start(1);
  const nextEarly = () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no early tick')), PATIENCE_MS);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  return { clock, early, nextEarly, change: () => report!(), setBusy: (value: boolean) => (busy = value) };
}

t.test('a change reported while an update goes out is captured once it is out', async (t) => {
  const display = clockWithDisplay();
  t.teardown(() => display.clock.stop());
  display.clock.captureStarting();
  display.setBusy(true);
  display.change();
  const captured = display.nextEarly();
  display.setBusy(false);
  display.clock.captureDone();
  await captured;
  t.same(display.early, ['when free'], 'one early capture, after the update went out');
});

t.test('a change reported while nothing goes out is captured early at once', async (t) => {
  const display = clockWithDisplay();
  t.teardown(() => display.clock.stop());
  const captured = display.nextEarly();
  display.change();
  await captured;
  t.same(display.early, ['when free']);
});

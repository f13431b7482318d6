// The desktop engine's capture loop with stand-in capture and encoder (the real ones are covered by
// agent-platform and agent-desktop-ws): an unchanged screen is not encoded again, a newcomer gets
// a frame at once, the loop stops with its last viewer.
import t from 'tap';
import { DesktopEngine, type EncodedFrame } from '../src/agent/openctrol/desktop-engine.js';
import { InputInjector } from '../src/agent/platform/input-injector.js';
import type { JpegEncoder } from '../src/agent/platform/jpeg-encoder.js';
import type { CapturedFrame, Rect } from '../src/agent/platform/screen-capture.js';
import { waitFor } from './helpers/xvfb.js';

function setup(failing: () => boolean = () => false) {
  let screen = Buffer.alloc(16, 1);
  const captured: Rect[] = [];
  const encoded: number[] = [];
  const engine = new DesktopEngine({
    monitors: {
      list: async () => [
        { id: 'DISPLAY1', name: 'A', x: 0, y: 0, width: 2, height: 2, isPrimary: true },
        { id: 'DISPLAY2', name: 'B', x: 2, y: 0, width: 2, height: 2, isPrimary: false },
      ],
    },
    capture: {
      backend: 'test',
      async capture(rect): Promise<CapturedFrame> {
        if (failing()) throw new Error('XGetImage failed');
        captured.push(rect);
        return { data: Buffer.from(screen), width: rect.width, height: rect.height, stride: rect.width * 4 };
      },
    },
    encoder: {
      name: 'libjpeg-turbo',
      encode: (frame) => (encoded.push(frame.data[0]!), Buffer.from([0xff, 0xd8, frame.data[0]!])),
    } as JpegEncoder,
    input: new InputInjector(() => {
      throw new Error('no input in this test');
    }),
    fps: 60,
    quality: 50,
  });
  return { engine, captured, encoded, paint: (value: number) => (screen = Buffer.alloc(16, value)) };
}

t.test('unchanged frames are captured but not encoded or sent again', async (t) => {
  const { engine, captured, encoded, paint } = setup();
  const frames: EncodedFrame[] = [];
  const stop = engine.subscribe((f) => frames.push(f));
  t.teardown(stop);
  t.ok(await waitFor(() => captured.length >= 5, 5000));
  t.equal(frames.length, 1, 'one frame for a still screen');
  t.equal(encoded.length, 1, 'and one encode');
  paint(7);
  t.ok(await waitFor(() => frames.length === 2, 5000), 'a change is sent');
  t.equal(frames[1]!.jpeg[2], 7);

  const late: EncodedFrame[] = [];
  const stopLate = engine.subscribe((f) => late.push(f));
  t.ok(await waitFor(() => late.length === 1, 5000), 'a newcomer gets the still screen at once');
  stopLate();

  t.ok(await engine.selectMonitor('DISPLAY2'));
  t.ok(await waitFor(() => frames.at(-1)!.monitorId === 'DISPLAY2', 5000), 'another monitor is a new picture');
  t.same(captured.at(-1), { id: 'DISPLAY2', name: 'B', x: 2, y: 0, width: 2, height: 2, isPrimary: false });
  t.equal(engine.isRunning, true);
  stop();
  t.equal(engine.isRunning, false, 'stops with its last viewer');
  const count = captured.length;
  t.equal((await engine.health()).is_running, false);
  t.ok(captured.length <= count + 1, 'no capture loop left running');
});

t.test('capture failures show in health as degraded, and recover', async (t) => {
  let fail = true;
  const { engine } = setup(() => fail);
  const frames: EncodedFrame[] = [];
  const stop = engine.subscribe((f) => frames.push(f));
  t.teardown(stop);
  t.ok(await waitFor(() => engine.lastCaptureError !== null, 5000));
  t.match(await engine.health(), { is_running: true, last_frame_at: null, degraded: true });
  t.equal(engine.lastCaptureError, 'XGetImage failed');
  fail = false;
  t.ok(await waitFor(() => frames.length > 0, 5000), 'frames resume');
  const health = await engine.health();
  t.equal(health.degraded, false);
  t.type(health.last_frame_at, 'string');
});

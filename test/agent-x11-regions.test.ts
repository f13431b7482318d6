// Region captures (src/agent/platform/capture-encoder.ts) against a real Xvfb: after a small
// change the X11 backend reported, only the reported regions are captured and compared, and the
// rectangles sent show the change; a change the display did not report (its report hidden by a
// filter over the real DAMAGE log) is still found by the whole compare once the interval has
// passed, on an injected clock. Two windows of this process, recoloured, are the changes. A
// region capture that comes back short (the screen shrank) falls back to a whole capture that
// keeps the step's rules (no periodic whole frame after a still screen in rectangles mode).
import { createRequire } from 'node:module';
import t from 'tap';
import { CaptureEncoder, type FrameUpdate } from '../src/agent/platform/capture-encoder.js';
import { turboEncoder } from '../src/agent/platform/jpeg-encoder.js';
import type { Rect, ScreenCapture } from '../src/agent/platform/screen-capture.js';
import { X11ScreenCapture } from '../src/agent/platform/x11-capture.js';
import { decodeJpeg } from '../src/viewer-tty/graphics/jpeg-decode.js';
import { MONITORS, startXvfb } from './helpers/xvfb.js';

const FULL_COMPARE_MS = 1000;
const REPORTED = { x: 300, y: 200, width: 100, height: 80 };
const UNREPORTED = { x: 1200, y: 700, width: 90, height: 90 };

interface XClient {
  AllocID(): number;
  CreateWindow(...args: unknown[]): void;
  MapWindow(id: number): void;
  ChangeWindowAttributes(id: number, values: { backgroundPixel: number }): void;
  ClearArea(id: number, x: number, y: number, width: number, height: number, exposures: number): void;
  sync(): Promise<void>;
  terminate(): void;
  display: { screen: { root: number }[] };
}

/** An override-redirect window per rectangle, each recoloured on demand (drawn once sync resolves). */
async function openWindows(display: string, rects: Rect[]): Promise<{ paint(i: number, rgb: number): Promise<void>; close(): void }> {
  const x11 = createRequire(import.meta.url)('x11') as {
    createClient(o: object, cb: (err: Error | null, d: { client: XClient }) => void): { on(e: string, f: (err: Error) => void): void };
  };
  const X = await new Promise<XClient>((resolve, reject) => {
    x11.createClient({ display }, (err, d) => (err ? reject(err) : resolve(d.client))).on('error', reject);
  });
  const root = X.display.screen[0]!.root;
  const ids = rects.map((r) => {
    const id = X.AllocID();
    X.CreateWindow(id, root, r.x, r.y, r.width, r.height, 0, 0, 0, 0, { backgroundPixel: 0, overrideRedirect: 1 });
    X.MapWindow(id);
    return id;
  });
  await X.sync();
  return {
    async paint(i, rgb) {
      X.ChangeWindowAttributes(ids[i]!, { backgroundPixel: rgb });
      X.ClearArea(ids[i]!, 0, 0, 0, 0, 0);
      await X.sync();
    },
    close: () => X.terminate(),
  };
}

const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const centre = (r: Rect) => ({ x: r.x + Math.floor(r.width / 2), y: r.y + Math.floor(r.height / 2) });

/** The colour (0xRRGGBB, JPEG-blurred) the update's rectangles show at `point`, or undefined when none covers it. */
function colourAt(update: FrameUpdate, point: { x: number; y: number }): number | undefined {
  if (update.kind !== 'rects') return undefined;
  const rect = update.rects.find((r) => point.x >= r.x && point.x < r.x + r.width && point.y >= r.y && point.y < r.y + r.height);
  if (!rect) return undefined;
  const image = decodeJpeg(rect.jpeg);
  const i = ((point.y - rect.y) * image.width + point.x - rect.x) * 3;
  return (image.data[i]! << 16) | (image.data[i + 1]! << 8) | image.data[i + 2]!;
}

const near = (a: number | undefined, b: number) =>
  a !== undefined && [16, 8, 0].every((shift) => Math.abs(((a >> shift) & 255) - ((b >> shift) & 255)) <= 40);

t.test('region captures on a real X display', async (t) => {
  const xvfb = await startXvfb({ inProcessClient: true });
  const shm = await X11ScreenCapture.open(xvfb.display);
  const windows = await openWindows(xvfb.display, [REPORTED, UNREPORTED]);
  t.teardown(() => {
    windows.close();
    shm.close();
  });
  // The real DAMAGE log, minus whatever touches UNREPORTED: a change the display "missed".
  const capture: ScreenCapture = {
    backend: shm.backend,
    capture: (rect) => shm.capture(rect),
    damage: {
      mark: () => shm.damage.mark(),
      changedSince: (mark, area) => shm.damage.changedSince(mark, area).filter((r) => !overlaps(r, UNREPORTED)),
      onChange: (listener) => shm.damage.onChange(listener),
    },
  };
  const clock = { now: 0 };
  const frames = new CaptureEncoder({
    capture,
    encoder: turboEncoder(),
    area: MONITORS[0]!,
    quality: 90,
    keyframeIntervalMs: 3_600_000,
    fullCompareIntervalMs: FULL_COMPARE_MS,
    now: () => clock.now,
  });
  t.equal((await frames.nextUpdate())?.kind, 'full', 'the first update is a whole frame');
  await shm.sync();

  await windows.paint(0, 0xff0000);
  await windows.paint(1, 0x0000ff);
  await shm.sync();
  clock.now = 100;
  const captures = shm.stats.captures;
  const first = await frames.nextUpdate();
  t.equal(frames.stats.regionCaptures, 1, 'a small reported change: only its region is captured');
  t.equal(shm.stats.captures, captures + 1, 'one GetImage, of that region (not the whole monitor)');
  t.equal(first?.kind, 'rects', 'sent as rectangles');
  t.ok(near(colourAt(first!, centre(REPORTED)), 0xff0000), 'they show the reported change');
  t.notOk(first?.kind === 'rects' && first.rects.some((r) => overlaps(r, UNREPORTED)), 'and nothing where no change was reported');

  clock.now = 200;
  t.equal(await frames.nextUpdate(), undefined, 'before the interval, an unreported change is not looked for');
  clock.now = 100 + FULL_COMPARE_MS;
  const { regionCaptures, captured } = frames.stats;
  const second = await frames.nextUpdate();
  t.equal(frames.stats.captured, captured + 1, 'once the interval has passed, a capture with nothing reported…');
  t.equal(frames.stats.regionCaptures, regionCaptures, '…of the whole monitor');
  t.equal(second?.kind, 'rects', 'the unreported change goes as rectangles');
  t.ok(near(colourAt(second!, centre(UNREPORTED)), 0x0000ff), 'showing it');
  t.notOk(second?.kind === 'rects' && second.rects.some((r) => overlaps(r, REPORTED)), 'and only it (the rest was sent already)');

  await windows.paint(0, 0x00c000);
  await shm.sync();
  clock.now = 200 + FULL_COMPARE_MS;
  const third = await frames.nextUpdate();
  t.equal(frames.stats.regionCaptures, regionCaptures + 1, 'then back to region captures');
  t.ok(near(colourAt(third!, centre(REPORTED)), 0x00c000), 'the next reported change is sent');
});

t.test('a region capture that comes back short falls back to a whole capture that still skips the periodic frame', async (t) => {
  const xvfb = await startXvfb({ inProcessClient: true });
  const shm = await X11ScreenCapture.open(xvfb.display);
  const windows = await openWindows(xvfb.display, [REPORTED]);
  t.teardown(() => {
    windows.close();
    shm.close();
  });
  const area = MONITORS[0]!;
  // Region captures come back a row short, as when the screen shrank under the area.
  const capture: ScreenCapture = {
    backend: shm.backend,
    capture: (rect) => shm.capture(rect.width === area.width && rect.height === area.height ? rect : { ...rect, height: rect.height - 1 }),
    damage: shm.damage,
  };
  const clock = { now: 0 };
  const frames = new CaptureEncoder({
    capture,
    encoder: turboEncoder(),
    area,
    quality: 90,
    keyframeIntervalMs: 1000,
    fullCompareIntervalMs: 3_600_000,
    now: () => clock.now,
  });
  t.equal((await frames.nextUpdate())?.kind, 'full', 'the first update is a whole frame');
  await shm.sync();

  // Reported changes that leave the picture as it was.
  await windows.paint(0, 0xff0000);
  await windows.paint(0, 0);
  await shm.sync();
  clock.now = 5000;
  const { captured, regionCaptures, unchanged } = frames.stats;
  t.equal(
    await frames.nextUpdate(),
    undefined,
    'no update: the picture is the whole frame already sent, and no periodic one is due after it',
  );
  t.equal(frames.stats.regionCaptures, regionCaptures, 'the short region capture was not used…');
  t.equal(frames.stats.captured, captured + 1, '…the whole area was captured instead…');
  t.equal(frames.stats.unchanged, unchanged + 1, '…and found unchanged');
});

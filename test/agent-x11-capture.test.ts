// The X11 capture backend (src/agent/platform/x11-capture.ts) against a real Xvfb: its pixels are
// robotjs's and `import -window root`'s, with and without shared memory; DAMAGE keeps a still
// screen from being captured at all (counted by the backend's own GetImage counter, and said by
// the step's outcome); and a window moved by xdotool is reported where it was and where it went.
// The damage log's bounds on its own, and the choice of backend (X11; robotjs on
// RAC_CAPTURE=robotjs or an X server without DAMAGE).
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { CaptureEncoder } from '../src/agent/platform/capture-encoder.js';
import { DamageLog, MAX_ENTRIES } from '../src/agent/platform/damage-log.js';
import { loadDesktopPlatform } from '../src/agent/platform/desktop-platform.js';
import { turboEncoder } from '../src/agent/platform/jpeg-encoder.js';
import { loadRobot } from '../src/agent/platform/robot.js';
import { type Rect, RobotScreenCapture } from '../src/agent/platform/screen-capture.js';
import { X11ScreenCapture } from '../src/agent/platform/x11-capture.js';
import { MONITORS, ROOT, spawnXvfb, startXvfb } from './helpers/xvfb.js';

const execFileAsync = promisify(execFile);
const WHOLE_ROOT = { x: 0, y: 0, ...ROOT };

t.test('the damage log', async (t) => {
  const log = new DamageLog();
  const start = log.mark();
  log.add({ x: 10, y: 10, width: 20, height: 20 });
  t.same(log.changedSince(start, { x: 0, y: 0, width: 100, height: 100 }), [{ x: 10, y: 10, width: 20, height: 20 }]);
  t.same(log.changedSince(start, { x: 20, y: 20, width: 100, height: 100 }), [{ x: 0, y: 0, width: 10, height: 10 }], 'clipped, relative');
  t.same(log.changedSince(start, { x: 50, y: 0, width: 10, height: 10 }), [], 'elsewhere: still');
  t.same(log.changedSince(log.mark(), { x: 0, y: 0, width: 100, height: 100 }), [], 'nothing after the newest mark');
  for (let i = 0; i < MAX_ENTRIES; i++) log.add({ x: 1000, y: 1000, width: 1, height: 1 });
  t.same(
    log.changedSince(start, { x: 0, y: 0, width: 100, height: 100 }),
    [{ x: 0, y: 0, width: 100, height: 100 }],
    'a mark older than the log remembers: the whole area counts as changed',
  );
});

t.test('on a real X display', async (t) => {
  const xvfb = await startXvfb({ inProcessClient: true });
  // robotjs opens $DISPLAY of this process.
  process.env.DISPLAY = xvfb.display;
  const shm = await X11ScreenCapture.open(xvfb.display);
  const core = await X11ScreenCapture.open(xvfb.display, { sharedMemory: false });
  t.teardown(() => {
    shm.close();
    core.close();
  });
  t.equal(shm.backend, 'x11-shm', 'a local display: shared memory');
  t.equal(core.backend, 'x11', 'shared memory turned off: core GetImage');

  t.test('the same pixels as robotjs and import -window root', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rac-x11-capture-'));
    const picture = join(dir, 'plasma.png');
    await execFileAsync('convert', ['-size', `${ROOT.width}x${ROOT.height}`, 'plasma:fractal', picture]);
    await xvfb.run('display', ['-window', 'root', picture]).catch(() => undefined);
    const robot = new RobotScreenCapture(() => loadRobot(xvfb.display));
    for (const area of [MONITORS[1]!, { x: 17, y: 33, width: 301, height: 207 }]) {
      const [a, b, c] = [await shm.capture(area), await core.capture(area), await robot.capture(area)];
      t.same([a.width, a.height, a.stride], [area.width, area.height, area.width * 4]);
      t.ok(a.data.equals(c.data) && a.stride === c.stride, `${area.width}×${area.height}: MIT-SHM equals robotjs`);
      t.ok(b.data.equals(c.data), 'core GetImage equals robotjs');
      const rgb = await screenshotRgb(xvfb.env, area);
      t.ok(sameColours(a.data, rgb), 'B,G,R of each pixel equal what import -window root saw');
    }
    const [left, right] = await Promise.all([shm.capture(MONITORS[0]!), shm.capture(MONITORS[1]!)]);
    t.ok(left.data.equals((await core.capture(MONITORS[0]!)).data), 'two captures at once: the first is its own area…');
    t.ok(right.data.equals((await core.capture(MONITORS[1]!)).data), '…and so is the second (one segment, taken in turn)');
    const clamped = await shm.capture({ x: 3000, y: 1000, width: 500, height: 500 });
    t.same([clamped.width, clamped.height], [200, 80], 'a rectangle leaving the screen is clamped');
  });

  t.test('a still screen is not captured; a change is', async (t) => {
    await xvfb.run('xsetroot', ['-solid', '#204080']);
    const frames = new CaptureEncoder({
      capture: shm,
      encoder: turboEncoder(),
      area: MONITORS[0]!,
      quality: 60,
      keyframeIntervalMs: 3_600_000,
      fullCompareIntervalMs: 3_600_000,
    });
    t.ok(await frames.next(), 'the first frame');
    await shm.sync();
    const captures = shm.stats.captures;
    for (let i = 0; i < 20; i++) t.equal(await frames.next(), undefined);
    t.equal(shm.stats.captures, captures, '20 steps on a still screen: no GetImage');
    t.equal(frames.stats.still, 20, 'each counted as still');
    t.same(await frames.step(), { outcome: 'not-captured' }, 'and a step says it took no capture');
    await xvfb.run('xsetroot', ['-solid', '#802040']);
    await shm.sync();
    t.ok(await frames.next(), 'a changed root window: a frame');
    t.equal(shm.stats.captures, captures + 1, 'one GetImage for it');
    await xvfb.run('xsetroot', ['-solid', '#802040']);
    await shm.sync();
    t.equal(await frames.next(), undefined, 'redrawn the same: damage, a capture, but no frame');
    t.equal(shm.stats.captures, captures + 2);
    await xvfb.run('xsetroot', ['-solid', '#802040']);
    await shm.sync();
    t.same(await frames.step(), { outcome: 'unchanged' }, 'a step says it captured and found nothing to send');
    frames.requestKeyframe();
    t.ok(await frames.next(), 'a requested whole frame is captured even when still');
  });

  t.test('a moved window is reported where it was and where it went', async (t) => {
    await xvfb.run('xsetroot', ['-solid', '#000000']);
    const title = `rac-x11-damage-${process.pid}`;
    const xterm = execFile('xterm', ['-T', title, '-geometry', '40x10+100+100'], { env: xvfb.env });
    t.teardown(() => void xterm.kill('SIGKILL'));
    const id = (await xvfb.run('xdotool', ['search', '--sync', '--onlyvisible', '--name', title])).trim().split('\n')[0]!;
    const before = await geometry(xvfb.run, id);
    // The server reports an area once until the next capture: capture, then watch.
    await shm.sync();
    await shm.capture(WHOLE_ROOT);
    const mark = shm.damage.mark();
    await xvfb.run('xdotool', ['windowmove', '--sync', id, '900', '500']);
    const after = await geometry(xvfb.run, id);
    t.not(after.x, before.x, 'the window moved');
    await shm.sync();
    const changed = shm.damage.changedSince(mark, WHOLE_ROOT);
    t.ok(changed.length > 0, `damage reported: ${JSON.stringify(changed)}`);
    t.ok(covers(changed, before), `covers where it was ${JSON.stringify(before)}`);
    t.ok(covers(changed, after), `covers where it is ${JSON.stringify(after)}`);
    t.notOk(covers(changed, { x: 2000, y: 0, width: 100, height: 100 }), 'not the other monitor');
  });
});

async function geometry(run: (c: string, a: string[]) => Promise<string>, id: string): Promise<Rect> {
  const out = await run('xdotool', ['getwindowgeometry', '--shell', id]);
  const field = (name: string) => Number(new RegExp(`${name}=(-?\\d+)`).exec(out)![1]);
  return { x: field('X'), y: field('Y'), width: field('WIDTH'), height: field('HEIGHT') };
}

/** Every pixel of `area` lies in one of `rects` (checked on a 4-pixel grid and the far edges). */
function covers(rects: Rect[], area: Rect): boolean {
  const inside = (x: number, y: number) => rects.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height);
  const xs = [...Array.from({ length: Math.ceil(area.width / 4) }, (_, i) => area.x + i * 4), area.x + area.width - 1];
  const ys = [...Array.from({ length: Math.ceil(area.height / 4) }, (_, i) => area.y + i * 4), area.y + area.height - 1];
  return xs.every((x) => ys.every((y) => inside(x, y)));
}

/** `import -window root` of `area`, as packed R,G,B. */
async function screenshotRgb(env: NodeJS.ProcessEnv, area: Rect): Promise<Buffer> {
  const crop = `${area.width}x${area.height}+${area.x}+${area.y}`;
  const { stdout } = await execFileAsync('import', ['-window', 'root', '-crop', crop, '-depth', '8', 'rgb:-'], {
    env,
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

function sameColours(bgrx: Buffer, rgb: Buffer): boolean {
  if (rgb.length * 4 !== bgrx.length * 3) return false;
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    if (bgrx[i] !== rgb[j + 2] || bgrx[i + 1] !== rgb[j + 1] || bgrx[i + 2] !== rgb[j]) return false;
  }
  return true;
}

t.test('the backend is chosen once: X11 where DAMAGE answers, robotjs elsewhere or when asked', async (t) => {
  const xvfb = await startXvfb({ inProcessClient: true });
  const choose = async (env: NodeJS.ProcessEnv) => {
    const warnings: string[] = [];
    const platform = loadDesktopPlatform(env, (w) => warnings.push(w));
    const description = await platform.selectCapture();
    t.equal(await platform.selectCapture(), description, 'asked again: the same choice');
    return { backend: platform.capture.backend, description, warnings };
  };
  const x11 = await choose(xvfb.env);
  t.same([x11.backend, x11.warnings], ['x11-shm', []], `a local X server: ${x11.description}`);
  const asked = await choose({ ...xvfb.env, RAC_CAPTURE: 'robotjs' });
  t.same([asked.backend, asked.warnings], ['robotjs', []], 'RAC_CAPTURE=robotjs');
  const noDamage = await spawnXvfb(['-extension', 'DAMAGE']);
  t.teardown(() => void noDamage.child.kill('SIGTERM'));
  const fallback = await choose({ ...process.env, DISPLAY: noDamage.display });
  t.equal(fallback.backend, 'robotjs', 'an X server without DAMAGE: robotjs');
  t.match(fallback.warnings, [/screen capture uses robotjs.*no DAMAGE extension/], 'with a warning that says why');
});

t.test('a root window that grows (a monitor added) is captured whole, through a larger shared segment', async (t) => {
  const x = await spawnXvfb(['-screen', '0', '1280x720x24']);
  t.teardown(() => void x.child.kill('SIGTERM'));
  const env = { ...process.env, DISPLAY: x.display };
  // xrandr resizes Xvfb's root window, then complains about its one fixed output: the size is what counts.
  const resize = (size: string) => execFileAsync('xrandr', ['--fb', size], { env }).catch(() => undefined);
  await resize('1024x576');
  const shm = await X11ScreenCapture.open(x.display);
  const core = await X11ScreenCapture.open(x.display, { sharedMemory: false });
  t.teardown(() => {
    shm.close();
    core.close();
  });
  const whole = { x: 0, y: 0, width: 1280, height: 720 };
  t.same([(await shm.capture(whole)).width, (await shm.capture(whole)).height], [1024, 576], 'clamped to the root window as it is');
  await resize('1280x720');
  await shm.sync();
  await core.sync();
  const grown = await shm.capture(whole);
  t.same([grown.width, grown.height], [1280, 720], 'the whole grown root window');
  t.equal(shm.backend, 'x11-shm', 'still through shared memory');
  t.ok(grown.data.equals((await core.capture(whole)).data), 'the same pixels as core GetImage');
});

// Dirty tiles end to end: a real `rac agent --code --yes` on Xvfb, a real `rac serve`, and the
// viewer's own transport and display (SessionConnection → RemoteDisplay). The viewer asks for
// rectangles and the agent answers; an xterm moved over a static background comes as rectangles
// that cover the window's old and new places and nothing else (to the 64-pixel tile); the composed
// picture matches a screenshot of the display; typing sends a small fraction of a whole frame; a
// rectangle that never reaches the display is repaired by a whole frame the display asks for; an
// update lost entirely on the way, with the screen still after it, is repaired by a whole frame the
// agent sends on the viewer's receive report (the display cannot see that loss); and a second viewer that does not ask for rectangles turns the stream back to whole frames for all.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { TICKS_PER_MILLISECOND } from '../src/protocol/frame-ids.js';
import type { CompleteRect } from '../src/protocol/rect-datagram.js';
import { RECT_KEYFRAME_INTERVAL_MS } from '../src/agent/session/frame-pipeline.js';
import { RemoteDisplay } from '../src/viewer-tty/display/remote-display.js';
import type { RgbImage } from '../src/viewer-tty/graphics/rgb-image.js';
import { SessionConnection } from '../src/viewer-tty/session-connection.js';
import { login, startBrokerProcess } from './helpers/broker-process.js';
import { connectViewer, createSession, startAgent } from './helpers/session-viewer.js';
import { type Xvfb, startXvfb, waitFor, waitForAsync } from './helpers/xvfb.js';

const execFileAsync = promisify(execFile);
const TILE = 64;
const MONITOR = { width: 1920, height: 1080 };

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The primary monitor as the X server shows it, R,G,B (ImageMagick's import of the root window). */
async function screenshot(xvfb: Xvfb): Promise<RgbImage> {
  const geometry = `${MONITOR.width}x${MONITOR.height}+0+0`;
  const { stdout } = await execFileAsync('import', ['-window', 'root', '-crop', geometry, '-depth', '8', 'rgb:-'], {
    env: xvfb.env,
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { width: MONITOR.width, height: MONITOR.height, data: stdout };
}

/** Mean absolute difference per channel, and the share of pixels where some channel is off by more than 96. */
function difference(a: RgbImage, b: RgbImage): { mean: number; badShare: number } {
  if (a.width !== b.width || a.height !== b.height) return { mean: 255, badShare: 1 };
  let sum = 0;
  let bad = 0;
  for (let i = 0; i < a.data.length; i += 3) {
    const d0 = Math.abs(a.data[i]! - b.data[i]!);
    const d1 = Math.abs(a.data[i + 1]! - b.data[i + 1]!);
    const d2 = Math.abs(a.data[i + 2]! - b.data[i + 2]!);
    sum += d0 + d1 + d2;
    if (d0 > 96 || d1 > 96 || d2 > 96) bad++;
  }
  const pixels = a.data.length / 3;
  return { mean: sum / a.data.length, badShare: bad / pixels };
}

/** Within what JPEG at the agent's default quality loses on text and edges. */
const matches = (d: { mean: number; badShare: number }) => d.mean <= 4 && d.badShare <= 0.005;

/** The box grown outward to whole tiles. */
function toTiles(box: Box): Box {
  const x = Math.floor(box.x / TILE) * TILE;
  const y = Math.floor(box.y / TILE) * TILE;
  return { x, y, width: Math.ceil((box.x + box.width) / TILE) * TILE - x, height: Math.ceil((box.y + box.height) / TILE) * TILE - y };
}
const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;
const grow = (box: Box, by: number): Box => ({ x: box.x - by, y: box.y - by, width: box.width + 2 * by, height: box.height + 2 * by });

/** Every tile the box touches lies inside one of the rectangles. */
function covered(box: Box, rects: Box[]): boolean {
  const tiles = toTiles(box);
  for (let y = tiles.y; y < tiles.y + tiles.height; y += TILE)
    for (let x = tiles.x; x < tiles.x + tiles.width; x += TILE) {
      const tile = { x, y, width: Math.min(TILE, MONITOR.width - x), height: Math.min(TILE, MONITOR.height - y) };
      if (!rects.some((r) => inside(tile, r))) return false;
    }
  return true;
}

async function startXterm(xvfb: Xvfb, geometry: string): Promise<{ id: string; child: ChildProcess }> {
  const title = `rac-tiles-${Math.random().toString(36).slice(2)}`;
  const child = spawn(
    'xterm',
    ['-T', title, '-geometry', geometry, '-e', 'sh', '-c', 'stty -icanon; echo dirty tiles; exec cat > /dev/null'],
    {
      env: xvfb.env,
      stdio: 'ignore',
    },
  );
  const id = (await xvfb.run('xdotool', ['search', '--sync', '--onlyvisible', '--name', title])).trim().split('\n')[0]!;
  return { id, child };
}

async function windowBox(xvfb: Xvfb, id: string): Promise<Box> {
  const out = await xvfb.run('xdotool', ['getwindowgeometry', '--shell', id]);
  const field = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(out)![1]);
  return { x: field('X'), y: field('Y'), width: field('WIDTH'), height: field('HEIGHT') };
}

/**
 * The link from the relay to this viewer loses every datagram while `losing()` says so (the
 * connection's own UDP socket, in its pin, so nothing of it reaches the reassembler); `lost`
 * reports each size.
 */
function lossyLink(connection: SessionConnection, losing: () => boolean, lost: (size: number) => void): void {
  const udp = (connection as unknown as { pin: { udp?: Socket } }).pin.udp!;
  const listeners = udp.listeners('message') as ((msg: Buffer, rinfo: unknown) => void)[];
  udp.removeAllListeners('message');
  udp.on('message', (msg, rinfo) => {
    if (losing()) return lost(msg.length);
    for (const listener of listeners) listener(msg, rinfo);
  });
}

t.test('rectangles from a real agent on Xvfb, composed by the viewer', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  // A static background of coloured blocks over the primary monitor.
  const colours = ['#c03030', '#30a040', '#3050c0', '#d0c040', '#9040a0', '#40a0a0'];
  const blocks = [];
  for (let row = 0; row < 6; row++)
    for (let col = 0; col < 8; col++)
      blocks.push({ x: col * 240, y: row * 180, width: 240, height: 180, color: colours[(row + col) % 6]! });
  await xvfb.paint(blocks);

  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const session = await createSession(broker.api, token);
  const agent = startAgent(['--code', session.session_code, '--server', broker.url, '--yes'], xvfb.env);
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/waiting for your IT contact/);

  const fullFrames: { bytes: number; at: number; frameId: bigint }[] = [];
  const rects: (CompleteRect & { at: number })[] = [];
  let dropNext = false;
  let dropped: CompleteRect | undefined;
  const display = new RemoteDisplay({
    changed: () => undefined,
    // Called only once frames flow, after `connection` below is made.
    requestKeyframe: () => connection.requestKeyframe(),
  });
  t.teardown(() => display.close());
  const connection = new SessionConnection({
    webSocketUrl: `${broker.url.replace(/^http/, 'ws')}/ws/session/${session.session_code}`,
    token,
    events: {
      frame: (jpeg, frameId) => {
        fullFrames.push({ bytes: jpeg.length, at: performance.now(), frameId });
        display.fullFrame(jpeg, frameId);
      },
      rect: (rect) => {
        rects.push({ ...rect, at: performance.now() });
        // The network between relay and display loses this one rectangle of a many-rectangle update.
        if (dropNext && rect.rectCount > 1) {
          dropNext = false;
          dropped = rect;
          return;
        }
        display.rect(rect);
      },
    },
  });
  t.teardown(() => connection.close());
  connection.start();

  const settle = async (what: string) => {
    let last = { mean: 255, badShare: 1 };
    const ok = await waitForAsync(async () => {
      const picture = display.picture;
      if (!picture) return false;
      last = difference(picture, await screenshot(xvfb));
      return matches(last);
    }, 10_000);
    t.ok(
      ok,
      `${what}: the composed picture matches the screen (mean difference ${last.mean.toFixed(2)}, ${(last.badShare * 100).toFixed(2)} % of pixels far off)`,
    );
  };

  /**
   * Asks for a whole frame and waits for it: that restarts the agent's 30 s periodic one, which on a
   * slow machine could otherwise fall due during a subtest and carry its update as a whole frame, or
   * be taken for the repair the subtest waits for.
   */
  /** Waits until no rectangle has come for half a second: the agent sent what the last change made. */
  const rectsSettled = async () => {
    let count = rects.length;
    let since = performance.now();
    await waitFor(() => {
      if (rects.length !== count) [count, since] = [rects.length, performance.now()];
      return performance.now() - since >= 500;
    }, 10_000);
  };

  const wholeFrameNow = async (t: Test) => {
    const before = fullFrames.length;
    connection.requestKeyframe();
    t.ok(await waitFor(() => fullFrames.length > before, 10_000), 'a whole frame to start from');
  };

  t.ok(
    await waitFor(() => connection.sendsRects && display.picture !== undefined, 10_000),
    'the agent announced rectangles and a whole frame arrived',
  );
  await settle('the first whole frame');
  // Pinned where the stream is: on a loaded test machine the quality controller would move the
  // quality, and a sharper setting redraws the whole picture, which is not what these checks count.
  t.ok(await waitFor(() => connection.stats().settings !== undefined, 10_000), 'the agent said its quality and frame rate');
  const { quality, fps } = connection.stats().settings!;
  connection.setQuality(quality, fps);
  t.ok(await waitFor(() => connection.stats().settings?.auto === false, 10_000), 'quality and frame rate pinned');

  const xterm = await startXterm(xvfb, '40x10+150+150');
  t.teardown(() => void xterm.child.kill('SIGTERM'));
  await settle('an xterm opened');

  await t.test('a window moved over a static background: rectangles where it was and where it is, no more', async (t) => {
    const from = await windowBox(xvfb, xterm.id);
    const repairsBefore = display.repairs;
    const rectsBefore = rects.length;
    await xvfb.run('xdotool', ['windowmove', '--sync', xterm.id, '1100', '600']);
    const to = await windowBox(xvfb, xterm.id);
    t.same([to.x, to.y], [1100, 600], 'the window moved');
    await settle('after the move');
    const sent = rects.slice(rectsBefore);
    t.ok(sent.length > 0, `${sent.length} rectangles`);
    t.equal(display.repairs, repairsBefore, 'no whole frame was needed to repair anything');
    // A window's border lies just outside its geometry: allow a few pixels, then whole tiles.
    const allowed = [toTiles(grow(from, 4)), toTiles(grow(to, 4))];
    const outside = sent.filter((r) => !allowed.some((a) => inside(r, a)));
    t.same(
      outside.map(({ x, y, width, height }) => ({ x, y, width, height })),
      [],
      'every rectangle lies on the old or the new place',
    );
    t.ok(covered(from, sent), 'the old place is covered (the background comes back)');
    t.ok(covered(to, sent), 'the new place is covered');
  });

  await t.test('typing in the xterm sends a small fraction of a whole frame per character', async (t) => {
    await xvfb.run('xdotool', ['windowfocus', '--sync', xterm.id]);
    const whole = fullFrames.at(-1)!.bytes;
    const rectsBefore = rects.length;
    const text = 'typing one character at a time';
    await xvfb.run('xdotool', ['type', '--delay', '100', text]);
    await settle('after typing');
    const bytes = rects.slice(rectsBefore).reduce((sum, r) => sum + r.jpeg.length, 0);
    t.ok(bytes > 0, 'the typed text came as rectangles');
    const perCharacter = bytes / text.length;
    t.ok(perCharacter * 10 <= whole, `${perCharacter.toFixed(0)} bytes per character, a whole frame is ${whole} bytes`);
  });

  await t.test('a lost rectangle is repaired by a whole frame the display asks for', async (t) => {
    await wholeFrameNow(t);
    const framesBefore = fullFrames.length;
    const repairsBefore = display.repairs;
    dropNext = true;
    // A move usually comes as one update of several rectangles, one of which is dropped; on a loaded
    // machine the capture can split it into single-rectangle updates, which are not: move again.
    for (let move = 0; move < 6 && dropped === undefined; move++) {
      await xvfb.run('xdotool', ['windowmove', '--sync', xterm.id, move % 2 ? '700' : '200', '700']);
      await rectsSettled();
    }
    t.ok(dropped !== undefined, 'a rectangle was lost on its way to the display');
    t.ok(await waitFor(() => fullFrames.length > framesBefore, 10_000), 'a whole frame followed');
    t.ok(display.repairs > repairsBefore, 'because the display asked for it (not the 30 s periodic frame)');
    const lostAt = rects.find((r) => r.frameId === dropped!.frameId)!.at;
    t.comment(`repaired ${Math.round(fullFrames[framesBefore]!.at - lostAt)} ms after the loss`);
    await settle('after the repair');
  });

  await t.test('an update lost entirely before the screen goes still is repaired by the agent', async (t) => {
    await wholeFrameNow(t);
    let losing = true;
    let bigLost = 0;
    let lastBigLostAt = 0;
    lossyLink(
      connection,
      () => losing,
      (size) => {
        // Control messages are small; a full-size datagram is a piece of a picture.
        if (size < 1000) return;
        bigLost++;
        lastBigLostAt = performance.now();
      },
    );
    const framesBefore = fullFrames.length;
    const rectsBefore = rects.length;
    const repairsBefore = display.repairs;
    await xvfb.run('xdotool', ['windowmove', '--sync', xterm.id, '900', '300']);
    t.ok(await waitFor(() => bigLost > 0, 10_000), 'the update went out and was lost on the way');
    // Quiet for 600 ms: the update and any follow-up capture of the move went out; the agent's own
    // repair comes only a second after the update, so it cannot be what is still being lost.
    t.ok(await waitFor(() => performance.now() - lastBigLostAt > 600, 10_000), 'then nothing more (the screen is still)');
    losing = false;
    t.ok(await waitFor(() => fullFrames.length > framesBefore, 10_000), 'a whole frame followed');
    t.equal(rects.length, rectsBefore, 'no rectangle of the lost update arrived');
    t.equal(display.repairs, repairsBefore, 'the display did not ask: it could not see the loss');
    // The periodic whole frame comes 30 s after the last one sent (and none was sent that this
    // viewer did not get, but for the agent's repairs). Frame ids are the agent's clock when each
    // was made: read there, a loaded machine's late deliveries cannot make a periodic frame look early.
    const sinceLastWhole =
      Number(fullFrames[framesBefore]!.frameId - fullFrames[framesBefore - 1]!.frameId) / Number(TICKS_PER_MILLISECOND);
    t.ok(
      sinceLastWhole < RECT_KEYFRAME_INTERVAL_MS,
      `${Math.round(sinceLastWhole)} ms after the last whole frame by the agent's clock, before the periodic one: the agent sent it on the report`,
    );
    await settle('after the agent repaired it');
  });

  await t.test('a viewer that does not ask for rectangles gets whole frames, and so does everyone', async (t) => {
    const plain = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => plain.close());
    await plain.waitSealed();
    await agent.waitFor(/reconnected; security code/);
    const rectsBefore = rects.length;
    const framesBefore = plain.frames.length;
    const ours = fullFrames.length;
    await xvfb.run('xdotool', ['windowmove', '--sync', xterm.id, '700', '100']);
    await settle('with a second viewer');
    t.ok(plain.frames.length > framesBefore, 'the plain viewer got whole frames');
    t.ok(fullFrames.length > ours, 'this viewer too');
    t.equal(rects.length, rectsBefore, 'no rectangle went out');
    await plain.close();
    t.ok(await waitFor(() => /left the session/.test(agent.stderr()), 10_000), 'the agent saw the plain viewer leave');
    const after = rects.length;
    await xvfb.run('xdotool', ['windowmove', '--sync', xterm.id, '100', '100']);
    t.ok(await waitFor(() => rects.length > after, 10_000), 'rectangles again once only viewers that take them are left');
    await settle('back to rectangles');
  });
});

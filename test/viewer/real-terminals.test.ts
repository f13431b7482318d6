// The sixel path in a real `xterm -ti vt340` and the kitty path in a real kitty, both under Xvfb:
// a screenshot shows the picture's colours, in place, where the frame is. And what each terminal
// answers to the --graphics auto queries picks its own protocol. In kitty, a rectangle update is
// drawn as an edit of the image on screen: its pixels show where the rectangle is.
import t, { type Test } from 'tap';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RAC_BIN } from '../helpers/broker-process.js';
import { PEER_TOKEN, startRelayPeer } from '../helpers/relay-peer.js';
import { chunkFrame } from '../../src/protocol/index.js';
import { chunkRects } from '../../src/protocol/rect-datagram.js';
import { QUADRANT_COLOURS, quadrantJpeg, solidJpeg } from '../helpers/test-picture.js';
import { type Xvfb, startXvfb } from '../helpers/viewer-xvfb.js';

const DETECT = fileURLToPath(new URL('../../dist/viewer-tty/detect-graphics.js', import.meta.url));

interface Blob {
  count: number;
  x: number;
  y: number;
}

/** Where each quadrant colour is on screen: pixel count and centre. */
function findColours(x: Xvfb): Record<'red' | 'green' | 'blue', Blob> {
  const shot = x.screenshot();
  const wanted = { red: QUADRANT_COLOURS.topLeft, green: QUADRANT_COLOURS.topRight, blue: QUADRANT_COLOURS.bottomLeft };
  const found = { red: { count: 0, x: 0, y: 0 }, green: { count: 0, x: 0, y: 0 }, blue: { count: 0, x: 0, y: 0 } };
  for (let py = 0; py < shot.height; py += 2)
    for (let px = 0; px < shot.width; px += 2) {
      const p = shot.pixel(px, py);
      for (const [name, rgb] of Object.entries(wanted) as Array<[keyof typeof found, readonly number[]]>) {
        if (p.every((v, i) => Math.abs(v - rgb[i]!) < 40)) {
          const b = found[name];
          b.count++;
          b.x += px;
          b.y += py;
        }
      }
    }
  for (const b of Object.values(found)) {
    if (b.count) {
      b.x /= b.count;
      b.y /= b.count;
    }
  }
  return found;
}

/** How often a screenshot is taken while waiting: each one costs a whole-screen capture. */
const POLL_MS = 500;

async function until<T>(what: string, get: () => T, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * A digest of the terminal's last 12 columns on its bottom two rows: where the status line's Ctrl-]
 * hint ends ("remote", or the viewer-mode keys). Nothing else changes there: the stats to its left
 * are cut to their own box. `geometry` is what `xdotool getwindowgeometry --shell` prints.
 */
function hintCorner(x: Xvfb, geometry: string): string {
  const box = Object.fromEntries(geometry.split('\n').map((line) => line.split('=') as [string, string]));
  const [left, top, width, height] = ['X', 'Y', 'WIDTH', 'HEIGHT'].map((key) => Number(box[key]));
  const shot = x.screenshot();
  const digest = createHash('sha256');
  for (let py = top! + Math.floor((height! * 28) / 30); py < top! + height!; py++)
    for (let px = left! + Math.floor((width! * 88) / 100); px < left! + width!; px++) digest.update(Buffer.from(shot.pixel(px, py)));
  return digest.digest('hex');
}

function spawnTerminal(t: Test, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return child;
}

const TERMINALS = [
  {
    name: 'xterm -ti vt340 (sixel)',
    mode: 'sixel',
    xvfbArgs: [] as string[],
    launch: (cmd: string) => ['xterm', ['-ti', 'vt340', '-geometry', '100x30+0+0', '-e', 'sh', '-c', cmd]] as const,
    env: {},
  },
  {
    name: 'kitty (kitty graphics protocol)',
    mode: 'kitty',
    xvfbArgs: ['+extension', 'GLX'],
    launch: (cmd: string) =>
      ['kitty', ['--config', 'NONE', '-o', 'initial_window_width=100c', '-o', 'initial_window_height=30c', 'sh', '-c', cmd]] as const,
    env: { LIBGL_ALWAYS_SOFTWARE: '1' },
  },
];

for (const term of TERMINALS) {
  t.test(term.name, async (t) => {
    const x = await startXvfb({ args: term.xvfbArgs });
    t.teardown(() => x.stop());
    const dir = mkdtempSync(join(tmpdir(), 'rac-view-term-'));

    // What the terminal answers to the auto-detection queries.
    const detectScript = join(dir, 'detect.mjs');
    writeFileSync(
      detectScript,
      `import { detectGraphics } from ${JSON.stringify(DETECT)};
       import { writeFileSync } from 'node:fs';
       process.stdin.setRawMode(true);
       const r = await detectGraphics({ stdin: process.stdin, stdout: process.stdout, env: process.env, timeoutMs: 3000 });
       writeFileSync(${JSON.stringify(join(dir, 'detected.json'))}, JSON.stringify(r));
       process.exit(0);`,
    );
    const [detectCmd, detectArgs] = term.launch(`${process.execPath} ${detectScript}`);
    spawnTerminal(t, detectCmd, [...detectArgs], { DISPLAY: x.display, ...term.env });
    const detected = await until(
      'the detection result',
      () => {
        try {
          return JSON.parse(readFileSync(join(dir, 'detected.json'), 'utf8'));
        } catch {
          return undefined;
        }
      },
      (v) => v !== undefined,
    );
    t.equal(detected.mode, term.mode, `auto picks ${term.mode}: ${JSON.stringify(detected.replies)}`);

    const peer = await startRelayPeer();
    t.teardown(() => peer.close());
    const jpeg = quadrantJpeg(640, 360);
    const streaming = setInterval(() => peer.sendFrame(jpeg), 200);
    t.teardown(() => clearInterval(streaming));
    const [cmd, args] = term.launch(
      `${process.execPath} ${RAC_BIN} view ${peer.code} --graphics ${term.mode} 2>${join(dir, 'stderr')}; sleep 60`,
    );
    const viewer = spawnTerminal(t, cmd, [...args], { DISPLAY: x.display, RAC_SERVER: peer.url, RAC_TOKEN: PEER_TOKEN, ...term.env });

    const blobs = await until(
      'the picture on screen',
      () => findColours(x),
      (b) => b.red.count > 5000 && b.green.count > 5000 && b.blue.count > 5000,
    );
    t.ok(blobs.red.x < blobs.green.x && Math.abs(blobs.red.y - blobs.green.y) < 20, `red left of green: ${JSON.stringify(blobs)}`);
    t.ok(blobs.blue.y > blobs.red.y && Math.abs(blobs.blue.x - blobs.red.x) < 20, 'blue under red');
    t.ok(Math.abs(blobs.red.count - blobs.green.count) < blobs.red.count * 0.1, 'quadrants of equal size: the picture is not cut off');

    // Leave with Ctrl-] q, typed into the terminal window: the picture is gone from the screen.
    const xdo = (...args: string[]) =>
      execFileSync('xdotool', args, { env: { ...process.env, DISPLAY: x.display }, encoding: 'utf8' }).trim();
    const window = xdo('search', '--sync', '--onlyvisible', '--pid', String(viewer.pid)).split('\n')[0]!;
    xdo('windowfocus', '--sync', window);
    const hint = () => hintCorner(x, xdo('getwindowgeometry', '--shell', window));
    const remoteHint = hint();
    xdo('key', '--clearmodifiers', 'ctrl+bracketright');
    await until('the viewer-mode hint on the status line', hint, (now) => now !== remoteHint);
    xdo('key', 'q');
    const after = await until(
      'the picture gone',
      () => findColours(x),
      (b) => b.red.count + b.green.count + b.blue.count === 0,
      15_000,
    );
    t.same([after.red.count, after.green.count, after.blue.count], [0, 0, 0], 'images deleted, alternate screen left');
    t.equal(readFileSync(join(dir, 'stderr'), 'utf8'), '', 'nothing on stderr');
  });
}

/** The bounding box of the screen's pixels near `rgb` (every second pixel), or undefined. */
function boxOf(x: Xvfb, rgb: readonly number[]): { left: number; top: number; right: number; bottom: number; count: number } | undefined {
  const shot = x.screenshot();
  let box: { left: number; top: number; right: number; bottom: number; count: number } | undefined;
  for (let py = 0; py < shot.height; py += 2)
    for (let px = 0; px < shot.width; px += 2) {
      if (!shot.pixel(px, py).every((v, i) => Math.abs(v - rgb[i]!) < 40)) continue;
      box ??= { left: px, top: py, right: px, bottom: py, count: 0 };
      box.left = Math.min(box.left, px);
      box.top = Math.min(box.top, py);
      box.right = Math.max(box.right, px);
      box.bottom = Math.max(box.bottom, py);
      box.count++;
    }
  return box;
}

t.test('kitty: a rectangle update shows where the rectangle is (an edit of the image on screen)', async (t) => {
  const kitty = TERMINALS.find((term) => term.mode === 'kitty')!;
  const x = await startXvfb({ args: kitty.xvfbArgs });
  t.teardown(() => x.stop());
  const dir = mkdtempSync(join(tmpdir(), 'rac-view-kitty-edit-'));
  const peer = await startRelayPeer();
  t.teardown(() => peer.close());
  const grey = [128, 128, 128];
  const yellow = [255, 255, 0];
  // Our own frame ids, so the rectangles name the whole frame as their base; both are re-sent until
  // seen (a datagram sent before the viewer's keys are agreed is dropped; a repeat is ignored).
  const send = (datagrams: Buffer[]) => {
    if (peer.sas() !== undefined) for (const d of datagrams) peer.sendRaw(peer.seal(d));
  };
  const whole = chunkFrame(solidJpeg(grey, 640, 360), 1000n, { maxDatagramBytes: 1172 });
  const streaming = setInterval(() => send(whole), 200);
  t.teardown(() => clearInterval(streaming));
  const [cmd, args] = kitty.launch(`${process.execPath} ${RAC_BIN} view ${peer.code} --graphics kitty 2>${join(dir, 'stderr')}; sleep 60`);
  spawnTerminal(t, cmd, [...args], { DISPLAY: x.display, RAC_SERVER: peer.url, RAC_TOKEN: PEER_TOKEN, ...kitty.env });
  const picture = (await until(
    'the grey picture',
    () => boxOf(x, grey),
    (b) => (b?.count ?? 0) > 5000,
  ))!;
  clearInterval(streaming);

  // A 128×64 rectangle at (384, 192) of the 640×360 picture.
  const rect = { x: 384, y: 192, width: 128, height: 64 };
  const update = chunkRects([{ ...rect, jpeg: solidJpeg(yellow, rect.width, rect.height) }], 1001n, 1000n, 1172);
  const updating = setInterval(() => send(update), 200);
  t.teardown(() => clearInterval(updating));
  const shown = (await until(
    'the rectangle on screen',
    () => boxOf(x, yellow),
    (b) => (b?.count ?? 0) > 100,
  ))!;
  const scale = (picture.right - picture.left) / 640;
  const expected = {
    left: picture.left + rect.x * scale,
    top: picture.top + rect.y * scale,
    right: picture.left + (rect.x + rect.width) * scale,
    bottom: picture.top + (rect.y + rect.height) * scale,
  };
  for (const side of ['left', 'top', 'right', 'bottom'] as const)
    t.ok(Math.abs(shown[side] - expected[side]) <= 4, `${side} edge in place: ${shown[side]} ≈ ${expected[side].toFixed(0)}`);
  const after = boxOf(x, grey)!;
  t.same([after.left, after.top], [picture.left, picture.top], 'the rest of the picture is still there');
  t.ok(after.count > picture.count * 0.8, 'only the rectangle changed');
  t.equal(readFileSync(join(dir, 'stderr'), 'utf8'), '', 'nothing on stderr');
});

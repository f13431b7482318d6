// `rac agent --code --yes` against a real Xvfb, a real `rac serve` and a viewer played by the test:
// frames decode to the picture on the primary monitor, quality and picture changes show up,
// mouse packets move the real X pointer, clicks reach an X client, keys reach an xterm running
// `cat > FILE`, and Ctrl-C tells the viewer and leaves no key held down. A still picture is looked
// at again and again but sent only as the periodic full frame (the agent's own counts, on exit).
import { PATIENCE_MS } from './helpers/patience.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import t from 'tap';
import { VK } from '../src/protocol/index.js';
import { login, startBrokerProcess } from './helpers/broker-process.js';
import { connectViewer, createSession, startAgent, startAgentSession } from './helpers/session-viewer.js';
import { startCatTerminal, startXvfb } from './helpers/xvfb.js';

const turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as {
  FORMAT_RGB: number;
  decompressSync(jpeg: Buffer, options: { format: number }): { data: Buffer; width: number; height: number };
};

type Rgb = [number, number, number];
const hex = (rgb: Rgb) => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;

/** The colour at (x, y) of a decoded frame, and whether it is within `tolerance` of `want`. */
function pixel(image: { data: Buffer; width: number }, x: number, y: number): Rgb {
  const i = (y * image.width + x) * 3;
  return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
}
const near = (got: Rgb, want: Rgb, tolerance = 40) => got.every((c, i) => Math.abs(c - want[i]!) <= tolerance);

const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const WHITE: Rgb = [255, 255, 255];
const MAGENTA: Rgb = [255, 0, 255];
const YELLOW: Rgb = [255, 255, 0];

t.test('a session with rac agent --yes: frames, quality, input, Ctrl-C', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  // The primary monitor (DP-1, 1920×1080 at 0,0) in four quadrants; the second monitor magenta.
  await xvfb.paint([
    { x: 0, y: 0, width: 960, height: 540, color: hex(RED) },
    { x: 960, y: 0, width: 960, height: 540, color: hex(GREEN) },
    { x: 0, y: 540, width: 960, height: 540, color: hex(BLUE) },
    { x: 960, y: 540, width: 960, height: 540, color: hex(WHITE) },
    { x: 1920, y: 0, width: 1280, height: 1080, color: hex(MAGENTA) },
  ]);

  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const session = await createSession(broker.api, token);

  const agent = startAgent(['--code', session.session_code, '--server', broker.url, '--yes', '--max-width', '960'], xvfb.env);
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/waiting for your IT contact/);

  const viewer = await connectViewer(broker.url, session.session_code, token);
  t.teardown(() => viewer.close());
  const connected = await agent.waitFor(
    /Connected: System Administrator \(admin@localhost\) can see and control this computer\. Security code (\d{3} \d{3})\. Press Ctrl-C to stop sharing\./,
  );
  t.match(agent.stderr(), /Allowed without asking \(--yes\): System Administrator \(admin@localhost\), security code \d{3} \d{3}/);
  t.equal(await viewer.waitSealed(), connected[1], 'the viewer derived the same security code the customer sees');

  const screen = await viewer.waitControl('screen');
  t.same(screen, { type: 'screen', width: 1920, height: 1080 }, 'screen: the primary monitor, in the pixels mouse packets use');

  await t.test('a frame decodes to the primary monitor, shrunk to --max-width', async (t) => {
    const frame = viewer.frames.at(-1) ?? (await viewer.nextFrame());
    const image = turbo.decompressSync(frame.jpeg, { format: turbo.FORMAT_RGB });
    t.equal(image.width, 960);
    t.equal(image.height, 540);
    t.ok(near(pixel(image, 240, 135), RED), `top left red, got ${pixel(image, 240, 135)}`);
    t.ok(near(pixel(image, 720, 135), GREEN), `top right green, got ${pixel(image, 720, 135)}`);
    t.ok(near(pixel(image, 240, 405), BLUE), `bottom left blue, got ${pixel(image, 240, 405)}`);
    t.ok(near(pixel(image, 720, 405), WHITE), `bottom right white, got ${pixel(image, 720, 405)}`);
    const magenta = [...Array(20).keys()].some((i) => near(pixel(image, 955, i * 27), MAGENTA, 60));
    t.notOk(magenta, 'nothing of the second monitor');
    const sizes = viewer.datagrams.filter((d) => d[0] === 5).map((d) => d.length);
    t.ok(sizes.length > 0 && sizes.every((n) => n <= 1200), `sealed datagrams of at most 1200 bytes (largest ${Math.max(...sizes)})`);
    t.notOk(
      viewer.datagrams.some((d) => d[0] === 1),
      'no clear frame chunk ever reached the viewer',
    );
  });

  await t.test('set_quality is obeyed: the same picture at quality 10 is smaller', async (t) => {
    const before = viewer.frames.at(-1)!;
    const next = viewer.nextFrame();
    await viewer.control({ type: 'set_quality', quality: 10, fps: 15 });
    const after = await next;
    t.ok(after.jpeg.length < before.jpeg.length, `quality 10: ${after.jpeg.length} bytes < quality 60: ${before.jpeg.length} bytes`);
    await viewer.control({ type: 'set_quality', quality: 60, fps: 15 });
  });

  await t.test('a changed picture is sent', async (t) => {
    await xvfb.paint([
      { x: 0, y: 0, width: 1920, height: 1080, color: hex(YELLOW) },
      { x: 1920, y: 0, width: 1280, height: 1080, color: hex(MAGENTA) },
    ]);
    let image: { data: Buffer; width: number } | undefined;
    for (let i = 0; i < 20 && !(image && near(pixel(image, 480, 270), YELLOW)); i++) {
      image = turbo.decompressSync((await viewer.nextFrame()).jpeg, { format: turbo.FORMAT_RGB });
    }
    t.ok(image && near(pixel(image, 100, 100), YELLOW) && near(pixel(image, 800, 500), YELLOW), 'the viewer sees the new picture');
  });

  await t.test('mouse packets move the real X pointer (screen pixels, not frame pixels)', async (t) => {
    await viewer.mouse(1500, 700);
    t.ok(await waitFor2(async () => same(await xvfb.mouse(), { x: 1500, y: 700 })), 'pointer at 1500,700');
    await viewer.mouse(5000, -20);
    t.ok(await waitFor2(async () => same(await xvfb.mouse(), { x: 1919, y: 0 })), 'clamped to the shared monitor');
  });

  await t.test('select_monitor switches the picture, the screen size and the mouse area', async (t) => {
    const since = viewer.controls.length;
    await viewer.control({ type: 'select_monitor', monitor_id: 'DISPLAY2' });
    t.same(await viewer.waitControl('screen', 10_000, since), { type: 'screen', width: 1280, height: 1024 });
    let image: { data: Buffer; width: number; height: number } | undefined;
    for (let i = 0; i < 20 && !(image && image.width === 960 && image.height === 768); i++) {
      image = turbo.decompressSync((await viewer.nextFrame()).jpeg, { format: turbo.FORMAT_RGB });
    }
    t.equal(image?.height, 768, 'HDMI-1 (1280×1024) shrunk to 960×768');
    t.ok(near(pixel(image!, 480, 384), MAGENTA), `magenta, got ${pixel(image!, 480, 384)}`);
    await viewer.mouse(100, 100);
    t.ok(await waitFor2(async () => same(await xvfb.mouse(), { x: 2020, y: 100 })), 'mouse coordinates are relative to HDMI-1');
    const back = viewer.controls.length;
    await viewer.control({ type: 'select_monitor', monitor_id: 'DISPLAY1' });
    t.same(await viewer.waitControl('screen', 10_000, back), { type: 'screen', width: 1920, height: 1080 });
  });

  await t.test('clicks and the wheel reach an X client', async (t) => {
    const xev = startXev(xvfb.env, '300x300+1000+300');
    t.teardown(() => xev.stop());
    // Mapped and viewable before any click, or the clicks land on the root window.
    await xvfb.run('xdotool', ['search', '--sync', '--onlyvisible', '--name', 'rac-xev']);
    await viewer.mouse(1150, 450);
    for (const button of [1, 2, 3, 4, 5]) {
      await viewer.mouse(1150, 450, button, 1);
      await viewer.mouse(1150, 450, button, 0);
    }
    // Left, right, middle are X buttons 1, 3, 2; wheel up and down are 4 and 5.
    const pressed = () => [...xev.output().matchAll(/ButtonPress event[\s\S]*?button (\d)/g)].map((m) => Number(m[1]));
    t.ok(await waitFor2(async () => pressed().length >= 5), `five presses, got ${pressed()}`);
    t.same(pressed(), [1, 3, 2, 4, 5]);
    const released = [...xev.output().matchAll(/ButtonRelease event[\s\S]*?button (\d)/g)].map((m) => Number(m[1]));
    t.same(released.slice(0, 3), [1, 3, 2], 'and released');
  });

  await t.test('keys reach an xterm running cat; unknown codes are ignored', async (t) => {
    const cat = await startCatTerminal(xvfb);
    t.teardown(() => cat.stop());
    const keys: [number, 0 | 1][] = [
      [VK.SHIFT, 1],
      [VK.KEY_H, 1],
      [VK.KEY_H, 0],
      [VK.SHIFT, 0],
      [VK.KEY_I, 1],
      [VK.KEY_I, 0],
      [0xe8, 1],
      [0xe8, 0], // unassigned
      [VK.SHIFT, 1],
      [VK.KEY_1, 1],
      [VK.KEY_1, 0],
      [VK.SHIFT, 0],
      [VK.OEM_MINUS, 1],
      [VK.OEM_MINUS, 0],
      [VK.RETURN, 1],
      [VK.RETURN, 0],
    ];
    for (const [vk, state] of keys) await viewer.key(vk, state);
    // A control message the agent does not know, sealed like every party message: opened, counted and ignored.
    await viewer.send(viewer.sealForAgent(Buffer.concat([Buffer.from([4]), Buffer.from('{"type":"make_coffee","sugar":2}')])));
    t.ok(await waitFor2(async () => cat.read() === 'Hi!-\n'), `typed "Hi!-\\n", file has ${JSON.stringify(cat.read())}`);

    // Shift pressed and its key-up lost: after 5 s without input the agent lets go of it.
    await viewer.key(VK.SHIFT, 1);
    const typedBefore = cat.read().length;
    const typed = async () => {
      await xvfb.run('xdotool', ['key', 'b']);
      return cat.read().slice(typedBefore);
    };
    t.ok(await waitFor2(async () => (await typed()).includes('B')), 'Shift is held');
    t.ok(await waitFor2(async () => (await typed()).endsWith('b'), 15_000, 1000), 'then released when input stalls');

    // Ctrl-C with Shift held: the viewer hears `disconnect`, and Shift is let go.
    await viewer.key(VK.SHIFT, 1);
    await viewer.key(VK.KEY_A, 1);
    await viewer.key(VK.KEY_A, 0);
    t.ok(await waitFor2(async () => cat.read().endsWith('A')), 'Shift is down');
    const controlsBefore = viewer.controls.length;
    agent.process.kill('SIGINT');
    t.equal(await agent.exited, 0, 'Ctrl-C exits 0');
    t.match(agent.stderr(), /Stopped: your screen is no longer shared\./);
    await viewer.waitControl('disconnect', 5000, controlsBefore);
    t.pass('the viewer got disconnect over UDP');
    await xvfb.run('xdotool', ['key', 'a']);
    t.ok(await waitFor2(async () => cat.read().endsWith('Aa')), `Shift was released: ${JSON.stringify(cat.read())}`);

    const summary =
      /Sent (\d+) frames .*?, (\d+) unchanged captures skipped\); input: (\d+) mouse, (\d+) keys, (\d+) ignored, (\d+) unknown keys/.exec(
        agent.stderr(),
      );
    t.ok(summary, 'a summary on exit');
    const [, sent, unchanged, , , , unknown] = summary!.map(Number);
    t.ok(unchanged! > 0, `unchanged captures were skipped (${sent} sent, ${unchanged} skipped)`);
    t.equal(unknown, 2, `the unassigned key code (down and up) was counted: ${summary![0]}`);
    t.match(agent.stderr(), /1 unknown control messages/);
  });
});

t.test('an unchanged picture is not sent again at the frame rate', async (t) => {
  const { broker, token, session, agent } = await startAgentSession(t);
  const viewer = await connectViewer(broker.url, session.session_code, token);
  t.teardown(() => viewer.close());
  // The first frame, then two of the periodic ones (a full frame every 3 s) of the same still picture.
  while (viewer.frames.length < 3) await viewer.nextFrame();
  agent.process.kill('SIGINT');
  t.equal(await agent.exited, 0, 'Ctrl-C exits 0');
  const summary = /Sent (\d+) frames .*?, (\d+) unchanged captures skipped\)/.exec(agent.stderr());
  t.ok(summary, 'a summary on exit');
  const [, sent, skipped] = summary!.map(Number);
  // Between two periodic frames the agent looks at the still picture dozens of times (a tick of the
  // frame clock each) and skips it every time; were it sent again at each look, none would be skipped.
  t.ok(skipped! > sent!, `more looks at the still picture skipped than frames sent: ${summary![0]}`);
});

function same(a: { x: number; y: number }, b: { x: number; y: number }) {
  return a.x === b.x && a.y === b.y;
}

async function waitFor2(check: () => Promise<boolean>, timeoutMs = 10_000, pollMs = 50): Promise<boolean> {
  const end = Date.now() + Math.max(timeoutMs, PATIENCE_MS);
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return check();
}

function startXev(env: NodeJS.ProcessEnv, geometry: string): { output(): string; stop(): Promise<void> } {
  const child: ChildProcess = spawn('stdbuf', ['-oL', 'xev', '-name', 'rac-xev', '-geometry', geometry, '-event', 'button'], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

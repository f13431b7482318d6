// Glass-to-glass latency: from the moment a marker is drawn on the customer's screen to the moment
// the viewer has decoded an update showing it and composed it into its copy of the screen, through
// the real thing: a private Xvfb, a real `rac serve`, a real `rac agent --code` (--yes) and the
// viewer's own transport (SessionConnection: key exchange, pinned UDP, sealed frames) and display
// (RemoteDisplay). The marker is a 128×128 window in the middle of the screen whose colour changes
// once per sample (an X client in this process); its time is when the X server has answered a
// round trip after the change (it has drawn it). p50/p99 at 1280×720 and 1920×1080, at 15 and 30
// fps, for the capture paths (robotjs: the agent run with RAC_CAPTURE=robotjs; x11: X DAMAGE and
// MIT-SHM, only the regions reported changed; x11-whole: the same capturing the whole monitor each
// time, the path before region captures, a baseline measured in the same run), and for a viewer
// that takes whole frames only (an older viewer: it never sends `capabilities`) and one that asks
// for rectangles (the marker then comes as a rectangle). Benches never assert; the target is
// ≤ 50 ms p50 at 1080p. Under each row, the p50 of each stage (the agent's RAC_LATENCY_TRACE lines
// joined with what the viewer saw, by frame id); BENCH_VERBOSE=1 prints each sample's. Figures are
// noisy on a busy machine: the load average is printed. BENCH_SIZES, BENCH_FPS, BENCH_BACKENDS and
// BENCH_VIEWERS pick rows (e.g. BENCH_SIZES=1080 BENCH_BACKENDS=x11-whole,x11); BENCH_SAMPLES sets
// the samples per row; RAC_BENCH_AGENT_ARGS adds arguments to the agent. "drawn" adds to each
// sample the kitty draw `rac view` then does: only the regions changed since the last draw (edits
// of the image on screen; whole frames are drawn whole), beside the whole-picture draw of the same
// picture (the path before edits) timed in the same run.
// Run: npx tsc -p . && node bench/latency.bench.js      (needs Xvfb)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionConnection } from '../dist/viewer-tty/session-connection.js';
import { RemoteDisplay } from '../dist/viewer-tty/display/remote-display.js';
import { fitImage } from '../dist/viewer-tty/graphics/fit.js';
import { KittyRenderer } from '../dist/viewer-tty/graphics/kitty.js';

const RAC = fileURLToPath(new URL('../bin/rac.js', import.meta.url));
// BENCH_SIZES (e.g. "1080"), BENCH_FPS ("30"), BENCH_BACKENDS ("x11"), BENCH_VIEWERS ("rectangles") pick rows.
const only = (name, all, key = String) => {
  const wanted = (process.env[name] ?? '').split(',').filter(Boolean);
  return wanted.length ? all.filter((v) => wanted.includes(key(v))) : all;
};
const SIZES = only(
  'BENCH_SIZES',
  [
    { width: 1280, height: 720 },
    { width: 1920, height: 1080 },
  ],
  (s) => String(s.height),
);
const FPS = only('BENCH_FPS', [15, 30]);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const EXTRA_AGENT_ARGS = (process.env.RAC_BENCH_AGENT_ARGS ?? '').split(' ').filter(Boolean);
const COLOURS = [
  [255, 0, 0],
  [0, 0, 255],
  [0, 200, 0],
  [255, 255, 0],
];
// x11-whole: X11 capture of the whole monitor at every step (RAC_CAPTURE_REGIONS=off), the path
// before region captures; x11: only the regions DAMAGE reported, the whole monitor once a second.
const BACKENDS = only('BENCH_BACKENDS', ['robotjs', 'x11-whole', 'x11']);
const VIEWERS = only('BENCH_VIEWERS', ['full frames', 'rectangles'], (v) => v.split(' ')[0]);
const MARKER_SIDE = 128;
// The draw stage: what `rac view` then does with the composed picture in a 200×50-cell kitty
// terminal (scale to the cells, encode); the terminal's own display of it is not timed.
const TERMINAL = { cols: 200, rows: 49, cell: { width: 10, height: 20 } };
/** Draws as `rac view` does: only what changed since its last draw, when it can. */
const kitty = new KittyRenderer();
/** The whole picture every time: the draw before edits, timed beside it. */
const kittyWhole = new KittyRenderer();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

async function startXvfb({ width, height }) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const n = 100 + Math.floor(Math.random() * 800);
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    const child = spawn('Xvfb', [`:${n}`, '-noreset', '-nolisten', 'tcp', '-screen', '0', `${width}x${height}x24`], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(`/tmp/.X11-unix/X${n}`); i++) await sleep(25);
    return { child, env: { ...process.env, DISPLAY: `:${n}` } };
  }
  throw new Error('no free X display number');
}

async function startBroker() {
  const dataDir = mkdtempSync(join(tmpdir(), 'rac-bench-latency-'));
  const child = spawn(
    process.execPath,
    [RAC, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--udp-ports', '47100-47119'],
    {
      env: { ...process.env, RAC_ADMIN_PASSWORD: 'bench-password' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const url = await new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.once('exit', (code) => reject(new Error(`rac serve exited ${code}: ${err}`)));
  });
  const post = async (path, body, token) =>
    (
      await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(body),
      })
    ).json();
  const { access_token: token } = await post('/api/auth/login', { email: 'admin@localhost', password: 'bench-password' });
  return { child, url, token, newSession: () => post('/api/sessions', {}, token) };
}

/** The colour at (x, y) of an RGB picture is `colour` (JPEG blurs it a little). */
function shows(image, x, y, colour) {
  const i = (y * image.width + x) * 3;
  return colour.every((v, k) => Math.abs(image.data[i + k] - v) <= 40);
}

/** performance.now() as epoch milliseconds: what the agent's trace lines hold (latency-trace.ts). */
const epochNow = () => performance.timeOrigin + performance.now();

/** The marker: a window of its own in the middle of the screen, recoloured by this process. */
async function openMarker(display, { width, height }) {
  const x11 = createRequire(import.meta.url)('x11');
  const X = await new Promise((resolve, reject) => {
    const client = x11.createClient({ display }, (err, d) => (err ? reject(err) : resolve(d.client)));
    client.on('error', reject);
  });
  const root = X.display.screen[0].root;
  const id = X.AllocID();
  const [x, y] = [Math.round(width / 2 - MARKER_SIDE / 2), Math.round(height / 2 - MARKER_SIDE / 2)];
  X.CreateWindow(id, root, x, y, MARKER_SIDE, MARKER_SIDE, 0, 0, 0, 0, { backgroundPixel: 0, overrideRedirect: 1 });
  X.MapWindow(id);
  await X.sync();
  return {
    /** Resolves once the X server has drawn the new colour. */
    async paint([r, g, b]) {
      X.ChangeWindowAttributes(id, { backgroundPixel: (r << 16) | (g << 8) | b });
      X.ClearArea(id, 0, 0, 0, 0, 0);
      await X.sync();
    },
    close: () => X.terminate(),
  };
}

/**
 * One agent and one viewer on this display; `samples` marker changes, each timed from drawn to
 * composed into the viewer's copy of the screen (RemoteDisplay: decoded and blitted as `rac view`
 * does). Each sample also names the update that showed it, for the per-stage breakdown.
 */
async function measure(broker, xvfb, { fps, backend, viewer }) {
  const session = await broker.newSession();
  const traceFile = join(mkdtempSync(join(tmpdir(), 'rac-bench-trace-')), 'trace.jsonl');
  const agentArgs = ['agent', '--code', session.session_code, '--server', broker.url, '--yes', '--no-openctrol', '--fps', String(fps)];
  const agent = spawn(process.execPath, [RAC, ...agentArgs, ...EXTRA_AGENT_ARGS], {
    env: {
      ...xvfb.env,
      RAC_CAPTURE: backend === 'robotjs' ? 'robotjs' : 'auto',
      RAC_CAPTURE_REGIONS: backend === 'x11-whole' ? 'off' : 'on',
      RAC_LATENCY_TRACE: traceFile,
    },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const centre = { x: Math.floor(xvfb.size.width / 2), y: Math.floor(xvfb.size.height / 2) };
  const receivedAt = new Map(); // frame id → when its last piece arrived (epoch ms)
  let waiting;
  let connection;
  const display = new RemoteDisplay({ changed: () => waiting?.(), requestKeyframe: () => connection.requestKeyframe() });
  connection = new SessionConnection({
    webSocketUrl: `${broker.url.replace('http', 'ws')}/ws/session/${session.session_code}`,
    token: broker.token,
    events: {
      frame: (jpeg, frameId) => {
        receivedAt.set(frameId, epochNow());
        display.fullFrame(jpeg, frameId);
      },
      rect: (r) => {
        receivedAt.set(r.frameId, epochNow());
        display.rect(r);
      },
    },
  });
  // A viewer of whole frames only: it never asks for rectangles (private to the viewer; a bench may).
  if (viewer === 'full frames') connection.askForRects = () => {};
  connection.start();
  const seen = (colour) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no update showing ${hex(colour)} within 20 s`)), 20_000);
      waiting = () => {
        if (!display.picture || !shows(display.picture, centre.x, centre.y, colour)) return;
        const composed = epochNow();
        const { width, height } = display.picture;
        const placement = fitImage(width, height, TERMINAL.cols, TERMINAL.rows, TERMINAL.cell);
        const changed = display.takeChanged();
        let drawn = '';
        const drawMs = timed(() => (drawn = kitty.draw(display.picture, placement, TERMINAL.cell, changed)));
        const wholeDrawMs = timed(() => kittyWhole.draw(display.picture, placement, TERMINAL.cell));
        clearTimeout(timer);
        waiting = undefined;
        const edited = drawn.startsWith('\x1b_Ga=f,');
        resolve({ composed, drawMs, wholeDrawMs, edited, frameId: display.frameId });
      };
    });
  try {
    const up = seen([0, 0, 0]); // the stream is up (a black marker)
    await xvfb.marker.paint([0, 0, 0]);
    await up;
    if (viewer === 'rectangles') await waitUntil(() => connection.sendsRects, 'the agent did not agree to send rectangles');
    const samples = [];
    for (let s = 0; s < SAMPLES + 1; s++) {
      const colour = COLOURS[s % COLOURS.length];
      const arrived = seen(colour);
      await xvfb.marker.paint(colour);
      const painted = epochNow();
      const { composed, drawMs, wholeDrawMs, edited, frameId } = await arrived;
      const received = receivedAt.get(frameId);
      // The first one warms up.
      if (s > 0) samples.push({ painted, composed, drawMs, wholeDrawMs, edited, frameId: String(frameId), received });
      await sleep(50 + Math.random() * 100); // markers at no fixed phase to the frame timer
    }
    return { samples, trace: readTrace(traceFile) };
  } finally {
    connection.close();
    agent.kill('SIGTERM');
  }
}

function timed(fn) {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** The agent's trace: frame id → its line (agent/session/latency-trace.ts). */
function readTrace(file) {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  return new Map(lines.map((line) => JSON.parse(line)).map((entry) => [entry.frameId, entry]));
}

async function waitUntil(check, message) {
  for (let i = 0; i < 200 && !check(); i++) await sleep(50);
  if (!check()) throw new Error(message);
}

// Per-stage breakdown of a row: the p50 of each stage over the samples whose update the agent
// traced. Stages: the X server reports the change to the agent (DAMAGE; none under robotjs), the
// wait for a capture (frame-rate ceiling, timer), capture, compare (whole picture and tiles),
// JPEG encode, seal and send, relay to the viewer (broker, reassembly), decode and compose, and
// the kitty draw that follows (after the end-to-end figure, which stops at compose; only the changed
// regions when it can) and the whole-picture draw of the same picture, the path before edits.
const STAGES = [
  ['damage', (t) => t.changed !== undefined && t.changed - t.painted],
  ['wait', (t) => t.captureStart - (t.changed ?? t.painted)],
  ['capture', (t) => t.captured - t.captureStart],
  ['compare', (t) => t.compared - t.captured],
  ['encode', (t) => t.encoded - t.compared],
  ['send', (t) => t.sent - t.encoded],
  ['relay', (t) => t.received - t.sent],
  ['compose', (t) => t.composed - t.received],
  ['draw', (t) => t.drawMs],
  ['whole draw', (t) => t.wholeDrawMs],
];

function breakdown({ samples, trace }) {
  const joined = samples.filter((s) => trace.has(s.frameId)).map((s) => ({ ...s, ...trace.get(s.frameId) }));
  const cells = STAGES.map(([name, stage]) => {
    const values = joined.map(stage).filter((v) => v !== false && Number.isFinite(v));
    return `${name} ${
      values.length
        ? f1(
            pct(
              values.sort((a, b) => a - b),
              50,
            ),
          )
        : '-'
    }`;
  });
  if (process.env.BENCH_VERBOSE)
    for (const s of joined)
      console.log(
        `      ${f1(s.composed - s.painted).padStart(7)}: ${STAGES.map(([name, stage]) => `${name} ${f1(stage(s) || 0)}`).join(', ')}`,
      );
  return `    p50 ms by stage (${joined.length}/${samples.length} traced): ${cells.join(', ')}`;
}

/** Glass to glass including the kitty draw: with edits (what `rac view` does) and whole (before). */
function drawnLine(samples) {
  const sorted = (values) => values.sort((a, b) => a - b);
  const drawn = sorted(samples.map((s) => s.composed - s.painted + s.drawMs));
  const whole = sorted(samples.map((s) => s.composed - s.painted + s.wholeDrawMs));
  const draw = sorted(samples.map((s) => s.drawMs));
  const wholeDraw = sorted(samples.map((s) => s.wholeDrawMs));
  const edits = samples.filter((s) => s.edited).length;
  return (
    `    drawn (composed + kitty draw) p50 ${f1(pct(drawn, 50))} p99 ${f1(pct(drawn, 99))} ms` +
    ` (draw p50 ${f1(pct(draw, 50))} p99 ${f1(pct(draw, 99))}, ${edits}/${samples.length} as edits);` +
    ` whole-picture draw: p50 ${f1(pct(whole, 50))} p99 ${f1(pct(whole, 99))} ms (draw p50 ${f1(pct(wholeDraw, 50))} p99 ${f1(pct(wholeDraw, 99))})`
  );
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
const f1 = (n) => n.toFixed(1);

async function main() {
  const broker = await startBroker();
  console.log(`glass-to-glass latency: marker drawn on Xvfb → update decoded and composed by the viewer, ${SAMPLES} samples per row`);
  console.log(
    `machine: ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}; agent args: ${EXTRA_AGENT_ARGS.join(' ') || '(none)'}`,
  );
  console.log('size        fps   capture    viewer takes    p50 ms   p99 ms   min ms   max ms');
  try {
    for (const size of SIZES) {
      const xvfb = await startXvfb(size);
      xvfb.size = size;
      xvfb.marker = await openMarker(xvfb.env.DISPLAY, size);
      try {
        for (const fps of FPS) {
          for (const backend of BACKENDS) {
            for (const viewer of VIEWERS) {
              const row = await measure(broker, xvfb, { fps, backend, viewer });
              const l = row.samples.map((s) => s.composed - s.painted).sort((a, b) => a - b);
              console.log(
                `${`${size.width}×${size.height}`.padEnd(12)}${String(fps).padStart(3)}   ${backend.padEnd(11)}${viewer.padEnd(14)}` +
                  `${f1(pct(l, 50)).padStart(8)}${f1(pct(l, 99)).padStart(9)}${f1(l[0]).padStart(9)}${f1(l[l.length - 1]).padStart(9)}`,
              );
              console.log(drawnLine(row.samples));
              console.log(breakdown(row));
            }
          }
        }
      } finally {
        xvfb.marker.close();
        xvfb.child.kill('SIGTERM');
      }
    }
  } finally {
    broker.child.kill('SIGTERM');
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

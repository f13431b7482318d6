// Dirty tiles beside today's whole frames, in the same run, on a private 1920×1080 Xvfb with a
// noisy background and an xterm (the agent's pipeline, no socket; wire bytes count the seal):
//  - a static screen at 15 fps: CPU % of one core and KB/s. Whole frames: compare every capture,
//    a full frame every 3 s. Tiles: rectangles, a full frame every 30 s, and the stream's idle
//    cadence (5 captures a second after 1 s without change or input).
//  - typing in the xterm, one character every 100 ms (or slower: one capture per character):
//    bytes sent, tiles against whole frames;
//  - the xterm dragged across the screen, one capture per step: the same.
// For typing and dragging both pipelines capture the same moments (one after the other per step).
// Each with both capture backends, in the same run: robotjs (XGetImage every capture) and the X11
// backend (X DAMAGE says whether anything changed, MIT-SHM GetImage when it did).
// Benches print, they never assert. Run: npx tsc -p . && node bench/tiles.bench.js
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { turboEncoder } from '../dist/agent/platform/jpeg-encoder.js';
import { loadRobot } from '../dist/agent/platform/robot.js';
import { RobotScreenCapture } from '../dist/agent/platform/screen-capture.js';
import { X11ScreenCapture } from '../dist/agent/platform/x11-capture.js';
import { CaptureCadence } from '../dist/agent/session/capture-cadence.js';
import { FramePipeline } from '../dist/agent/session/frame-pipeline.js';
import { SEALED_DEFAULT_CHUNK_SIZE, SEALED_OVERHEAD_BYTES } from '../dist/protocol/index.js';
import { cpuSeconds } from './helpers.js';

const AREA = { x: 0, y: 0, width: 1920, height: 1080 };
const QUALITY = 60;
const FPS = 15;
const STATIC_MS = 6000;
const TYPING_CHARACTERS = 40;
const DRAG_STEPS = 40;
const XTERM_TITLE = 'rac-tiles-bench';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuMs = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
const f1 = (n) => n.toFixed(1);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const wireBytes = (frame) => (frame ? frame.datagrams.reduce((sum, d) => sum + d.length + SEALED_OVERHEAD_BYTES, 0) : 0);

function startXvfb() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const n = 100 + Math.floor(Math.random() * 800);
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    const child = spawn('Xvfb', [`:${n}`, '-noreset', '-nolisten', 'tcp', '-screen', '0', '1920x1080x24'], { stdio: 'ignore' });
    return { display: `:${n}`, child, socket: `/tmp/.X11-unix/X${n}` };
  }
  throw new Error('no free X display number');
}

// Xlib ends a process whose X server goes away: this one owns Xvfb and the xterm, a child measures.
async function main() {
  const x = startXvfb();
  const children = [x.child];
  const cleanup = () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'));
  process.on('exit', cleanup);
  for (let i = 0; i < 100 && !existsSync(x.socket); i++) await sleep(50);
  const env = { ...process.env, DISPLAY: x.display, RAC_BENCH_CHILD: '1', RAC_BENCH_XVFB_PID: String(x.child.pid) };
  const dir = mkdtempSync(join(tmpdir(), 'rac-tiles-bench-'));
  execFileSync('convert', ['-size', '1920x1080', 'plasma:fractal', '-blur', '0x1', join(dir, 'bg.png')]);
  try {
    execFileSync('display', ['-window', 'root', join(dir, 'bg.png')], { env, stdio: 'ignore' });
  } catch {
    // `display -window root` exits 1 on Xvfb after setting the background.
  }
  const xterm = spawn('xterm', ['-T', XTERM_TITLE, '-geometry', '100x30+100+100', '-e', 'sh', '-c', 'stty -icanon; exec cat > /dev/null'], {
    env,
    stdio: 'ignore',
  });
  children.push(xterm);
  execFileSync('xdotool', ['search', '--sync', '--onlyvisible', '--name', XTERM_TITLE], { env });
  await sleep(500);
  const measure = spawn(process.execPath, [new URL(import.meta.url).pathname], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise((resolve) => measure.once('exit', resolve));
  cleanup();
  process.exit(code ?? 1);
}

function pipelines(capture) {
  const make = (rects) => {
    const pipeline = new FramePipeline({
      capture,
      encoder: turboEncoder(),
      area: AREA,
      quality: QUALITY,
      chunkSize: SEALED_DEFAULT_CHUNK_SIZE,
    });
    pipeline.setRects(rects);
    return pipeline;
  };
  return { full: make(false), tiles: make(true) };
}

/** CPU ms the X server spent so far: a capture is an XGetImage, so half its cost is the server's. */
function xServerCpuMs() {
  return cpuSeconds(process.env.RAC_BENCH_XVFB_PID) * 1000;
}

/** One pipeline on a still screen at FPS for STATIC_MS; tiles go through the idle cadence. */
async function still(pipeline, cadence) {
  await pipeline.next(); // the first whole frame, outside the measure
  let bytes = 0;
  const captured0 = pipeline.stats.captured;
  const cpu0 = process.cpuUsage();
  const server0 = xServerCpuMs();
  const start = performance.now();
  while (performance.now() - start < STATIC_MS) {
    if (!cadence || cadence.shouldCapture()) {
      const frame = await pipeline.next();
      if (frame) cadence?.activity();
      bytes += wireBytes(frame);
    }
    await sleep(1000 / FPS);
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    cpuPercent: cpuMs(cpu0) / seconds / 10,
    serverPercent: (xServerCpuMs() - server0) / seconds / 10,
    capturesPerSecond: (pipeline.stats.captured - captured0) / seconds,
    bytesPerSecond: bytes / seconds,
  };
}

/**
 * Both pipelines, one tick each after every step that changes the screen (a step every 100 ms at
 * best; on a loaded machine the capture sets the pace), so both see the same pictures.
 */
async function during(capture, steps, step) {
  const { full, tiles } = pipelines(capture);
  await full.next();
  await tiles.next();
  const sent = { full: 0, tiles: 0, rectBytes: 0, rectUpdates: 0, fullUpdates: 0, fullFrames: 0 };
  for (let i = 0; i < steps; i++) {
    await Promise.all([step(i), sleep(100)]);
    await sleep(30); // the X client draws what the step changed
    if (capture.sync) await capture.sync(); // the X server's changes are all reported
    const frame = await full.next();
    if (frame) sent.fullFrames++;
    sent.full += wireBytes(frame);
    const update = await tiles.next();
    sent.tiles += wireBytes(update);
    if (update?.kind === 'rects') {
      sent.rectUpdates++;
      sent.rectBytes += wireBytes(update);
    }
    if (update?.kind === 'full') sent.fullUpdates++;
  }
  return sent;
}

const xdotool = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn('xdotool', args, { stdio: 'ignore' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`xdotool ${args[0]} exited ${code}`))));
  });

async function measure() {
  const robot = loadRobot(process.env.DISPLAY);
  const backends = { robotjs: new RobotScreenCapture(() => robot), x11: await X11ScreenCapture.open(process.env.DISPLAY) };
  const window = execFileSync('xdotool', ['search', '--onlyvisible', '--name', XTERM_TITLE]).toString().trim().split('\n')[0];
  console.log(`dirty tiles vs whole frames, 1920×1080, JPEG quality ${QUALITY}, ${FPS} fps, sealed datagrams of at most 1200 bytes`);
  console.log(`capture backends: robotjs, and ${backends.x11.backend} (X DAMAGE, then MIT-SHM GetImage)`);
  console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)} at the start`);

  // Alternated twice, best of each: other processes on the machine add noise to CPU time.
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const run = {};
    for (const [name, capture] of Object.entries(backends)) {
      const { full, tiles } = pipelines(capture);
      run[`full, ${name}`] = await still(full);
      run[`tiles, ${name}`] = await still(tiles, new CaptureCadence());
    }
    runs.push(run);
  }
  const best = (key) => runs.map((r) => r[key]).reduce((a, b) => (a.cpuPercent <= b.cpuPercent ? a : b));
  console.log(`\nstatic screen for ${STATIC_MS / 1000} s (targets for tiles: ≤ 10 % of a core, ≤ 2 KB/s)`);
  console.log('pipeline, capture   agent CPU % of a core   + X server   captures/s   wire KB/s');
  for (const key of Object.keys(runs[0])) {
    const r = best(key);
    console.log(
      `${key.padEnd(19)}${f1(r.cpuPercent).padStart(17)}${f1(r.cpuPercent + r.serverPercent).padStart(13)}${f1(r.capturesPerSecond).padStart(13)}${f1(r.bytesPerSecond / 1024).padStart(12)}`,
    );
  }

  await xdotool(['windowfocus', '--sync', window]);
  const changing = [];
  for (const [name, capture] of Object.entries(backends)) {
    const cpu0 = process.cpuUsage();
    const typing = await during(capture, TYPING_CHARACTERS, () => xdotool(['type', 'x']));
    changing.push([`typing ${TYPING_CHARACTERS} characters, ${name}`, typing, cpuMs(cpu0) / TYPING_CHARACTERS]);
    const cpu1 = process.cpuUsage();
    const drag = await during(capture, DRAG_STEPS, (step) =>
      xdotool(['windowmove', '--sync', window, String(116 + step * 16), String(106 + step * 6)]),
    );
    changing.push([`dragging a window ${DRAG_STEPS} steps, ${name}`, drag, cpuMs(cpu1) / DRAG_STEPS]);
    await xdotool(['windowmove', '--sync', window, '100', '100']);
  }
  console.log(
    '\nchanging screen (one capture per step)          whole frames      tiles   tiles / whole   per change: whole   rects   rects / whole   sent (whole; tiles: rects / whole)   CPU ms/step (both)',
  );
  for (const [name, r, cpuPerStep] of changing) {
    const wholeEach = r.full / Math.max(1, r.fullFrames);
    const rectEach = r.rectBytes / Math.max(1, r.rectUpdates);
    console.log(
      `${name.padEnd(47)}${kb(r.full).padStart(12)}${kb(r.tiles).padStart(11)}${`1/${f1(r.full / Math.max(1, r.tiles))}`.padStart(16)}` +
        `${kb(wholeEach).padStart(20)}${kb(rectEach).padStart(8)}${`1/${f1(wholeEach / Math.max(1, rectEach))}`.padStart(16)}${`${r.fullFrames}; ${r.rectUpdates} / ${r.fullUpdates}`.padStart(20)}${f1(cpuPerStep).padStart(21)}`,
    );
  }
  console.log('tiles totals include the whole frames a tiles stream still sends: on request, and every 30 s of');
  console.log('wall time after rectangles (a loaded machine stretches the steps, so more of them fall in the run)');
  console.log('targets: typing ≤ 1/20 of whole frames per character; dragging no worse than whole frames');
  process.exit(0);
}

if (process.env.RAC_BENCH_CHILD) await measure();
else await main();

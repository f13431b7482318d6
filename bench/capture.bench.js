#!/usr/bin/env node
// Screen capture and JPEG encoding cost of the agent, at 1280×720 and 1920×1080, on a real Xvfb
// showing a photo-like picture (ImageMagick plasma): capture of a monitor rectangle with robotjs
// (XGetImage), with the X11 backend (MIT-SHM GetImage, and core GetImage over the socket), and with
// ImageMagick `import` (a shell baseline), wall time and this process's CPU time; libjpeg-turbo
// next to jpeg-js (the pure-JS fallback) at quality 60. Run after `npx tsc -p .`: node bench/capture.bench.js (or npm run bench)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jpegJsEncoder, turboEncoder } from '../dist/agent/platform/jpeg-encoder.js';
import { loadRobot } from '../dist/agent/platform/robot.js';
import { RobotScreenCapture } from '../dist/agent/platform/screen-capture.js';
import { X11ScreenCapture } from '../dist/agent/platform/x11-capture.js';

const SIZES = [
  [1280, 720],
  [1920, 1080],
];
const QUALITY = 60;

for (const cmd of ['Xvfb', 'display', 'import']) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.log(`bench/capture.bench.js: needs ${cmd} (apt install xvfb imagemagick); skipped`);
    process.exit(0);
  }
}

const display = `:${200 + Math.floor(Math.random() * 600)}`;
const xvfb = spawn('Xvfb', [display, '-noreset', '-nolisten', 'tcp', '-screen', '0', '1920x1080x24'], { stdio: 'ignore' });
const socket = `/tmp/.X11-unix/X${display.slice(1)}`;
for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));
// Keep the server until this process is gone (robotjs holds a connection Xlib will not let go of).
spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.2; done; kill ${xvfb.pid}`], {
  stdio: 'ignore',
  detached: true,
}).unref();
xvfb.unref();
process.env.DISPLAY = display;
const env = { ...process.env, DISPLAY: display };

const dir = mkdtempSync(join(tmpdir(), 'rac-bench-'));
execFileSync('convert', ['-size', '1920x1080', 'plasma:fractal', '-blur', '0x1', join(dir, 'picture.png')]);
spawnSync('display', ['-window', 'root', join(dir, 'picture.png')], { env });

const capture = new RobotScreenCapture(() => loadRobot(display));
const x11Shm = await X11ScreenCapture.open(display);
const x11Core = await X11ScreenCapture.open(display, { sharedMemory: false });
const turbo = turboEncoder();
const jpegJs = jpegJsEncoder();

function timeIt(runs, fn) {
  const times = [];
  let result;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    result = fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], result };
}

/** Median wall ms of an async capture, and this process's mean CPU ms per call. */
async function timeCapture(runs, backend, rect) {
  await backend.capture(rect); // warm up the connection
  const times = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await backend.capture(rect);
    times.push(performance.now() - start);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], cpu: (cpu.user + cpu.system) / 1000 / runs };
}

const fmt = (ms) => `${ms.toFixed(1).padStart(7)} ms`;
const both = (r) => `${r.median.toFixed(1)} (${r.cpu.toFixed(1)} CPU) ms`;
console.log(`capture and JPEG q${QUALITY} on Xvfb ${display} (photo-like picture); medians`);
console.log('size        capture ms (CPU ms): robotjs        x11 MIT-SHM     x11 core GetImage');
for (const [width, height] of SIZES) {
  const rect = { x: 0, y: 0, width, height };
  const [r, s, c] = [await timeCapture(30, capture, rect), await timeCapture(30, x11Shm, rect), await timeCapture(30, x11Core, rect)];
  console.log(`${`${width}x${height}`.padEnd(11)} ${both(r).padStart(28)} ${both(s).padStart(18)} ${both(c).padStart(21)}`);
}
console.log('\nsize         capture (robotjs)  baseline (import)  encode libjpeg-turbo  baseline jpeg-js   speed-up  bytes/frame');
for (const [width, height] of SIZES) {
  const rect = { x: 0, y: 0, width, height };
  capture.captureNow(rect); // warm up the X connection
  const cap = timeIt(30, () => capture.captureNow(rect));
  const importMs = timeIt(3, () =>
    execFileSync('import', ['-window', 'root', '-crop', `${width}x${height}+0+0`, 'rgba:-'], { env, maxBuffer: 64 << 20 }),
  ).median;
  const frame = cap.result;
  turbo.encode(frame, QUALITY);
  const t = timeIt(30, () => turbo.encode(frame, QUALITY));
  const j = timeIt(5, () => jpegJs.encode(frame, QUALITY));
  console.log(
    `${`${width}x${height}`.padEnd(11)} ${fmt(cap.median).padStart(18)} ${fmt(importMs).padStart(18)} ${fmt(t.median).padStart(21)} ${fmt(j.median).padStart(17)} ${`${(j.median / t.median).toFixed(1)}x`.padStart(10)} ${String(t.result.length).padStart(12)}`,
  );
}
rmSync(dir, { recursive: true, force: true });
x11Shm.close();
x11Core.close();
process.exit(0);

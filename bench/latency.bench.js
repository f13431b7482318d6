// Glass-to-glass latency: from the moment a marker is drawn on the customer's screen to the moment
// the viewer has decoded a frame showing it, through the real thing: a private Xvfb, a real
// `rac serve`, a real `rac agent --code` (--yes) and the viewer's own transport (SessionConnection:
// key exchange, pinned UDP, sealed frames) with its JPEG decoder. The marker is the root window's
// colour (`xsetroot -solid`), changed once per sample; its time is when xsetroot has returned (the X
// server has drawn it). p50/p99 at 1280×720 and 1920×1080, at the agent's default 15 fps and at
// 30 fps (the frame interval dominates). Benches never assert; the target is ≤ 50 ms p50 at 1080p.
//
// With and without tiles: RAC_BENCH_AGENT_ARGS adds arguments to the agent (e.g. the tiles
// capability flag once it exists), so the same run can be repeated with it; without it, full frames.
// Run: npx tsc -p . && node bench/latency.bench.js      (needs Xvfb and xsetroot)
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { SessionConnection } from '../dist/viewer-tty/session-connection.js';
import { decodeJpeg } from '../dist/viewer-tty/graphics/jpeg-decode.js';

const RAC = fileURLToPath(new URL('../bin/rac.js', import.meta.url));
const SIZES = [
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
];
const FPS = [15, 30];
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const EXTRA_AGENT_ARGS = (process.env.RAC_BENCH_AGENT_ARGS ?? '').split(' ').filter(Boolean);
const COLOURS = [
  [255, 0, 0],
  [0, 0, 255],
  [0, 200, 0],
  [255, 255, 0],
];
const run = promisify(execFile);
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

/** The colour at the centre of a decoded frame is `colour` (JPEG blurs it a little). */
function shows(jpeg, colour) {
  const image = decodeJpeg(jpeg);
  const i = (Math.floor(image.height / 2) * image.width + Math.floor(image.width / 2)) * 3;
  return colour.every((v, k) => Math.abs(image.data[i + k] - v) <= 40);
}

/** One agent and one viewer on this display; `samples` marker changes, each timed until decoded. */
async function measure(broker, xvfb, fps) {
  const session = await broker.newSession();
  const agent = spawn(
    process.execPath,
    [
      RAC,
      'agent',
      '--code',
      session.session_code,
      '--server',
      broker.url,
      '--yes',
      '--no-openctrol',
      '--fps',
      String(fps),
      ...EXTRA_AGENT_ARGS,
    ],
    { env: xvfb.env, stdio: ['ignore', 'ignore', 'ignore'] },
  );
  let waiting;
  const connection = new SessionConnection({
    webSocketUrl: `${broker.url.replace('http', 'ws')}/ws/session/${session.session_code}`,
    token: broker.token,
    events: { frame: (jpeg) => waiting?.(jpeg) },
  });
  connection.start();
  const seen = (colour) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame showing ${hex(colour)} within 20 s`)), 20_000);
      waiting = (jpeg) => {
        if (!shows(jpeg, colour)) return;
        clearTimeout(timer);
        waiting = undefined;
        resolve(performance.now());
      };
    });
  try {
    const up = seen([0, 0, 0]); // the stream is up (black root: -br, or reset by the previous row)
    await run('xsetroot', ['-solid', '#000000'], { env: xvfb.env });
    await up;
    const latencies = [];
    for (let s = 0; s < SAMPLES + 1; s++) {
      const colour = COLOURS[s % COLOURS.length];
      const arrived = seen(colour);
      await run('xsetroot', ['-solid', hex(colour)], { env: xvfb.env });
      const drawn = performance.now();
      const at = await arrived;
      if (s > 0) latencies.push(at - drawn); // the first one warms up
      await sleep(50 + Math.random() * 100); // markers at no fixed phase to the frame timer
    }
    return latencies.sort((a, b) => a - b);
  } finally {
    connection.close();
    agent.kill('SIGTERM');
  }
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
const f1 = (n) => n.toFixed(1);

async function main() {
  const broker = await startBroker();
  console.log(`glass-to-glass latency: marker drawn on Xvfb → frame decoded by the viewer, ${SAMPLES} samples per row`);
  console.log(
    `machine: ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}; agent args: ${EXTRA_AGENT_ARGS.join(' ') || '(none: full frames)'}`,
  );
  console.log('size        fps   p50 ms   p99 ms   min ms   max ms');
  try {
    for (const size of SIZES) {
      const xvfb = await startXvfb(size);
      try {
        for (const fps of FPS) {
          const l = await measure(broker, xvfb, fps);
          console.log(
            `${`${size.width}×${size.height}`.padEnd(12)}${String(fps).padStart(3)}${f1(pct(l, 50)).padStart(9)}${f1(pct(l, 99)).padStart(9)}` +
              `${f1(l[0]).padStart(9)}${f1(l[l.length - 1]).padStart(9)}`,
          );
        }
      } finally {
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

// Relay throughput, loss and added latency at several offered loads: 1200-byte type-1 datagrams
// from an agent socket to a viewer socket through a real `rac serve` session port, next to socat
// forwarding the same traffic (`socat -u UDP4-RECV UDP4-SENDTO`) and a direct send, in the same run.
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeControl, encodeFrameChunk, encodeHandshake } from '../dist/protocol/index.js';

const RAC = fileURLToPath(new URL('../bin/rac.js', import.meta.url));
const LOADS = (process.env.BENCH_LOADS ?? '5000,20000,50000,100000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const PAYLOAD = 1200 - 21;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function ensureSocat() {
  if (spawnSync('sh', ['-c', 'command -v socat']).status === 0) return true;
  if (process.getuid?.() === 0) {
    process.stderr.write('installing socat (apt-get) for the baseline…\n');
    spawnSync('sh', ['-c', 'apt-get install -y -qq socat || (apt-get update -qq && apt-get install -y -qq socat)'], { stdio: 'ignore' });
    return spawnSync('sh', ['-c', 'command -v socat']).status === 0;
  }
  process.stderr.write('socat is missing (apt-get install socat): the socat column stays empty\n');
  return false;
}

async function udp(port = 0) {
  const socket = createSocket('udp4');
  await new Promise((r) => socket.bind(port, '127.0.0.1', r));
  socket.setRecvBufferSize(8 << 20);
  socket.setSendBufferSize(8 << 20);
  return socket;
}

/** Offers `rate` datagrams/s for SECONDS from `sender` to `port`; `receiver` collects. */
async function run(sender, port, receiver, rate) {
  const latencies = [];
  let received = 0;
  const onMessage = (msg) => {
    if (msg[0] !== 1 || msg.length < 21 + 8) return;
    received++;
    latencies.push(Number(process.hrtime.bigint() - msg.readBigUInt64LE(21)) / 1e3);
  };
  receiver.on('message', onMessage);
  const total = rate * SECONDS;
  const perTick = Math.max(1, Math.round(rate / 1000));
  const data = Buffer.alloc(PAYLOAD);
  let sent = 0;
  const start = process.hrtime.bigint();
  while (sent < total) {
    for (let i = 0; i < perTick && sent < total; i++, sent++) {
      data.writeBigUInt64LE(process.hrtime.bigint(), 0);
      sender.send(
        encodeFrameChunk({ frameId: BigInt(sent + 1), chunkIndex: 0, totalChunks: 1, totalSize: PAYLOAD, data }),
        port,
        '127.0.0.1',
      );
    }
    // Pace to the offered rate.
    const due = Number(start) / 1e6 + (sent / rate) * 1000;
    const wait = due - Number(process.hrtime.bigint()) / 1e6;
    if (wait > 0) await sleep(wait);
    else await new Promise(setImmediate);
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  await sleep(300);
  receiver.off('message', onMessage);
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] : NaN);
  return { offered: rate, achieved: sent / elapsed, delivered: received / elapsed, loss: 1 - received / sent, p50: pct(50), p99: pct(99) };
}

async function startBroker() {
  const dataDir = mkdtempSync(join(tmpdir(), 'rac-bench-relay-'));
  const child = spawn(
    process.execPath,
    [RAC, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--udp-ports', '47000-47009'],
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
  return { child, url };
}

async function joinRelay(url) {
  const { WebSocket } = await import('ws');
  const post = async (path, body, token) =>
    (
      await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(body),
      })
    ).json();
  const { access_token: token } = await post('/api/auth/login', { email: 'admin@localhost', password: 'bench-password' });
  const session = await post('/api/sessions', {}, token);
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/session/${session.session_code}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const ticket = await new Promise((resolve) =>
    ws.on('message', (m) => {
      const msg = JSON.parse(String(m));
      if (msg.type === 'udp_ticket') resolve(msg.ticket);
    }),
  );
  const agent = await udp();
  const viewer = await udp();
  const acked = new Promise((resolve) => viewer.once('message', resolve));
  viewer.send(encodeControl({ type: 'viewer_hello', ticket }), session.udp_port, '127.0.0.1');
  await acked;
  agent.send(
    encodeHandshake({ session_code: session.session_code, screen_width: 1920, screen_height: 1080, timestamp: Date.now() }),
    session.udp_port,
    '127.0.0.1',
  );
  await sleep(200);
  viewer.removeAllListeners('message');
  return { agent, viewer, port: session.udp_port, ws };
}

const fmt = (r) =>
  r
    ? `${String(Math.round(r.achieved)).padStart(7)}/s ${String(Math.round(r.delivered)).padStart(7)}/s ${(r.loss * 100).toFixed(1).padStart(5)}% ${r.p50.toFixed(0).padStart(6)} ${r.p99.toFixed(0).padStart(7)}`
    : '        —                              ';

const hasSocat = ensureSocat();
const { child, url } = await startBroker();
try {
  const rac = await joinRelay(url);
  const direct = { sender: await udp(), receiver: await udp() };
  let socat;
  let socatIn;
  let socatOut;
  if (hasSocat) {
    socatOut = await udp();
    const probe = await udp();
    socatIn = probe.address().port;
    probe.close();
    socat = spawn(
      'socat',
      ['-u', `UDP4-RECV:${socatIn},bind=127.0.0.1,rcvbuf=8388608`, `UDP4-SENDTO:127.0.0.1:${socatOut.address().port}`],
      { stdio: 'ignore' },
    );
    await sleep(300);
  }
  const socatSender = await udp();
  console.log(`1200-byte datagrams, ${SECONDS} s per load, loopback, 2 cores; latency in µs (one-way, sender → receiver)`);
  console.log(
    `${'offered/s'.padStart(10)} | ${'direct: sent delivered loss p50 p99'.padEnd(40)} | ${'rac relay: sent delivered loss p50 p99'.padEnd(40)} | socat: sent delivered loss p50 p99`,
  );
  const added = [];
  for (const rate of LOADS) {
    const d = await run(direct.sender, direct.receiver.address().port, direct.receiver, rate);
    const r = await run(rac.agent, rac.port, rac.viewer, rate);
    const s = hasSocat ? await run(socatSender, socatIn, socatOut, rate) : null;
    console.log(`${String(rate).padStart(10)} | ${fmt(d)} | ${fmt(r)} | ${fmt(s)}`);
    added.push(
      `${String(rate).padStart(10)} | rac +${(r.p50 - d.p50).toFixed(0)}/+${(r.p99 - d.p99).toFixed(0)}` +
        (s ? ` | socat +${(s.p50 - d.p50).toFixed(0)}/+${(s.p99 - d.p99).toFixed(0)}` : ''),
    );
  }
  console.log('added latency over the direct path, p50/p99 µs (meaningful while loss is 0):');
  for (const line of added) console.log(line);
  socat?.kill();
  rac.ws.close();
  for (const s of [rac.agent, rac.viewer, direct.sender, direct.receiver, socatSender, socatOut]) s?.close();
} finally {
  child.kill('SIGTERM');
}

// Relay throughput, loss and added latency at several offered loads: 1200-byte sealed datagrams
// (type 5; the relay routes them by their header and never decrypts, so their body here is opaque)
// from a pinned agent socket to a pinned viewer socket through a real `rac serve` session port,
// next to socat forwarding the same traffic (`socat -u UDP4-RECV UDP4-SENDTO`) and a direct send,
// in the same run.
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentHandshakeProof, encodeControl, encodeHandshake, encodeSealedHeader } from '../dist/protocol/index.js';

const RAC = fileURLToPath(new URL('../bin/rac.js', import.meta.url));
const LOADS = (process.env.BENCH_LOADS ?? '5000,20000,50000,100000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const DATAGRAM_BYTES = 1200;
const HEADER_BYTES = 12;
let viewerId = 1;
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
    if (msg[0] !== 5 || msg.length < HEADER_BYTES + 8) return;
    received++;
    latencies.push(Number(process.hrtime.bigint() - msg.readBigUInt64LE(HEADER_BYTES)) / 1e3);
  };
  receiver.on('message', onMessage);
  const total = rate * SECONDS;
  const perTick = Math.max(1, Math.round(rate / 1000));
  const datagram = Buffer.alloc(DATAGRAM_BYTES);
  let sent = 0;
  const start = process.hrtime.bigint();
  while (sent < total) {
    for (let i = 0; i < perTick && sent < total; i++, sent++) {
      encodeSealedHeader({ toAgent: false, viewerId, epoch: 0, counter: BigInt(sent) }).copy(datagram, 0);
      datagram.writeBigUInt64LE(process.hrtime.bigint(), HEADER_BYTES);
      sender.send(datagram, port, '127.0.0.1');
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
  const wsUrl = `${url.replace('http', 'ws')}/ws/session/${session.session_code}`;
  const messages = (ws) => {
    const inbox = [];
    const waiters = [];
    ws.on('message', (m) => {
      const msg = JSON.parse(String(m));
      const i = waiters.findIndex((w) => w.type === msg.type);
      if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
      else inbox.push(msg);
    });
    return (type) => {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
      return new Promise((resolve) => waiters.push({ type, resolve }));
    };
  };
  // The agent: its WebSocket gives the secret that proves its handshake.
  const agentWs = new WebSocket(wsUrl);
  const fromBrokerToAgent = messages(agentWs);
  const { agent_secret: secret } = await fromBrokerToAgent('agent_welcome');
  // The viewer: its id, a single-use ticket, and the cookie echo that pins its address.
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } });
  const fromBrokerToViewer = messages(ws);
  viewerId = (await fromBrokerToViewer('joined')).viewer_id;
  const { ticket } = await fromBrokerToViewer('udp_ticket');
  const agent = await udp();
  const viewer = await udp();
  const answer = () => new Promise((resolve) => viewer.once('message', (m) => resolve(JSON.parse(String(m.subarray(1))))));
  let next = answer();
  viewer.send(encodeControl({ type: 'viewer_hello', ticket }), session.udp_port, '127.0.0.1');
  const { cookie } = await next;
  next = answer();
  viewer.send(encodeControl({ type: 'viewer_confirm', cookie }), session.udp_port, '127.0.0.1');
  await next;
  const timestamp = Date.now();
  agent.send(
    encodeHandshake({
      session_code: session.session_code,
      screen_width: 1920,
      screen_height: 1080,
      timestamp,
      agent_proof: agentHandshakeProof(secret, session.session_code, timestamp),
    }),
    session.udp_port,
    '127.0.0.1',
  );
  await sleep(200);
  viewer.removeAllListeners('message');
  return { agent, viewer, port: session.udp_port, ws, agentWs };
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
  rac.agentWs.close();
  for (const s of [rac.agent, rac.viewer, direct.sender, direct.receiver, socatSender, socatOut]) s?.close();
} finally {
  child.kill('SIGTERM');
}

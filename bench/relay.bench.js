// Relay throughput, loss and added latency at several offered loads: 1200-byte sealed datagrams
// (type 5; the relay routes them by their header and never decrypts, so their body here is opaque)
// from a pinned agent socket to a pinned viewer socket through a real `rac serve` session port,
// next to socat forwarding the same traffic (`socat -u UDP4-RECV UDP4-SENDTO`) and a direct send,
// in the same run.
import { spawn, spawnSync } from 'node:child_process';
import { encodeSealedHeader } from '../dist/protocol/index.js';
import { DATAGRAM_BYTES, HEADER_BYTES, logIn, pinSession, sleep, startBroker, udp, unpin } from './helpers.js';

const LOADS = (process.env.BENCH_LOADS ?? '5000,20000,50000,100000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const BUFFER_BYTES = 8 << 20;
let viewerId = 1;

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

const fmt = (r) =>
  r
    ? `${String(Math.round(r.achieved)).padStart(7)}/s ${String(Math.round(r.delivered)).padStart(7)}/s ${(r.loss * 100).toFixed(1).padStart(5)}% ${r.p50.toFixed(0).padStart(6)} ${r.p99.toFixed(0).padStart(7)}`
    : '        —                              ';

const hasSocat = ensureSocat();
const { child, url } = await startBroker({ name: 'relay', udpPorts: '47000-47009' });
try {
  const rac = await pinSession(url, (await logIn(url)).access_token, BUFFER_BYTES);
  viewerId = rac.viewerId;
  const direct = { sender: await udp(BUFFER_BYTES), receiver: await udp(BUFFER_BYTES) };
  let socat;
  let socatIn;
  let socatOut;
  if (hasSocat) {
    socatOut = await udp(BUFFER_BYTES);
    const probe = await udp(BUFFER_BYTES);
    socatIn = probe.address().port;
    probe.close();
    socat = spawn(
      'socat',
      ['-u', `UDP4-RECV:${socatIn},bind=127.0.0.1,rcvbuf=8388608`, `UDP4-SENDTO:127.0.0.1:${socatOut.address().port}`],
      { stdio: 'ignore' },
    );
    await sleep(300);
  }
  const socatSender = await udp(BUFFER_BYTES);
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
  unpin(rac);
  for (const s of [direct.sender, direct.receiver, socatSender, socatOut]) s?.close();
} finally {
  child.kill('SIGTERM');
}

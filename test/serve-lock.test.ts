// One `rac serve` per data dir: a second one on the same dir refuses before it touches anything,
// while the first one's live session goes on streaming; a stale lock of a dead broker is replaced.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { call, login, randomUdpRange, startBrokerProcess } from './helpers/broker-process.js';
import { spawnRac } from './helpers/cli.js';
import { controlOf, openSignal, openUdp } from './helpers/session-peers.js';

const LOCK_FILE = 'rac-serve.pid';

const handshake = (code: string) =>
  `{"type":"handshake","session_code":"${code}","screen_width":1920,"screen_height":1080,"timestamp":${Date.now()}}`;

/** A chunk of a one-chunk frame (type 1, little-endian header). */
function frameChunk(frameId: bigint, data: Buffer): Buffer {
  const header = Buffer.alloc(21);
  header.writeUInt8(1, 0);
  header.writeBigInt64LE(frameId, 1);
  header.writeInt32LE(0, 9);
  header.writeInt32LE(1, 13);
  header.writeInt32LE(data.length, 17);
  return Buffer.concat([header, data]);
}

t.test('a second rac serve on the same data dir refuses and leaves the live session streaming', async (t) => {
  const first = await startBrokerProcess();
  t.teardown(() => first.stop());
  const token = await login(first.api);
  const session = (await call(first.api, 'POST', '/sessions', { token, body: { customer_name: 'Carl' } })).body;
  const agentWs = await openSignal(first.url, session.session_code);
  const viewerWs = await openSignal(first.url, session.session_code, token);
  const agent = await openUdp();
  const viewer = await openUdp();
  t.teardown(() => {
    [agent, viewer].forEach((p) => p.close());
    [agentWs, viewerWs].forEach((p) => p.ws.close());
  });
  const ticket = await viewerWs.messages.next((m) => m.type === 'udp_ticket');
  await viewer.send(
    Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ type: 'viewer_hello', ticket: ticket.ticket }))]),
    session.udp_port,
  );
  await viewer.received.next((d) => controlOf(d.data)?.type === 'viewer_ack');
  await agent.send(handshake(session.session_code), session.udp_port);
  await viewer.received.next((d) => controlOf(d.data)?.type === 'screen');

  // Same data dir and UDP range, another HTTP port: the old failure closed every session here.
  const second = await spawnRac(
    [
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      first.dataDir,
      '--udp-ports',
      `${first.udpPorts.first}-${first.udpPorts.last}`,
    ],
    { env: process.env },
  );
  t.equal(second.code, 1, 'the second broker exits non-zero');
  t.match(second.stderr, `another rac serve (pid ${first.process.pid}) is using ${first.dataDir}`, 'and names the first one');
  t.notMatch(second.stderr, /listening|closing it|EADDRINUSE/, 'it bound nothing and closed nothing');
  t.equal(readFileSync(join(first.dataDir, LOCK_FILE), 'utf8').trim(), String(first.process.pid), 'the lock is still the first one');

  const info = await call(first.api, 'GET', `/sessions/${session.session_code}/info`);
  t.same(info.body, { session_code: session.session_code, udp_port: session.udp_port, status: 'active' }, 'the session is untouched');
  const frame = frameChunk(42n, Buffer.from('a frame after the second start'));
  await agent.send(frame, session.udp_port);
  const got = await viewer.received.next((d) => d.data[0] === 1, undefined, 'the frame at the viewer');
  t.ok(got.data.equals(frame), 'and still streams agent → viewer');

  t.equal(await first.stop(), 0);
  t.notOk(existsSync(join(first.dataDir, LOCK_FILE)), 'a clean stop removes the lock');
});

t.test('the lock of a broker that died (kill -9) does not block the next start', async (t) => {
  const first = await startBrokerProcess();
  const lockFile = join(first.dataDir, LOCK_FILE);
  t.ok(existsSync(lockFile), 'a running broker holds the lock');
  first.process.kill('SIGKILL');
  await first.stop();
  t.ok(existsSync(lockFile), 'kill -9 leaves the file behind');

  const again = await startBrokerProcess({ dataDir: first.dataDir, udpPorts: randomUdpRange() });
  t.teardown(() => again.stop());
  t.equal(readFileSync(lockFile, 'utf8').trim(), String(again.process.pid), 'the stale lock was replaced');
  t.equal((await call(again.api, 'GET', '/health')).status, 200);
});

t.test('a lock file naming a live process that is no broker still refuses, and names the file', async (t) => {
  const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill());
  const broker = await startBrokerProcess();
  await broker.stop();
  const lockFile = join(broker.dataDir, LOCK_FILE);
  writeFileSync(lockFile, `${sleeper.pid}\n`);
  const refused = await spawnRac(['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', broker.dataDir], { env: process.env });
  t.equal(refused.code, 1);
  t.match(refused.stderr, `another rac serve (pid ${sleeper.pid}) is using ${broker.dataDir}`);
  t.match(refused.stderr, `delete ${lockFile} if that pid is not a rac serve`, 'says how to get out');
});

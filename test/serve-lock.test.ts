// One `rac serve` per data dir: a second one on the same dir refuses before it touches anything,
// while the first one's live session goes on streaming; a stale lock of a dead broker is replaced.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { NAMED_RELAY, call, login, randomUdpRange, serveArgs, startBrokerProcess } from './helpers/broker-process.js';
import { spawnRac } from './helpers/cli.js';
import type { Session } from '../src/protocol/broker-api.js';
import { startSealedAgent } from './helpers/sealed-agent.js';
import { connectViewer } from './helpers/session-viewer.js';
import { solidJpeg } from './helpers/test-picture.js';

const LOCK_FILE = 'rac-serve.pid';

t.test('a second rac serve on the same data dir refuses and leaves the live session streaming', async (t) => {
  const first = await startBrokerProcess();
  t.teardown(() => first.stop());
  const token = await login(first.api);
  const session = (await call<Session>(first.api, 'POST', '/sessions', { token, body: { customer_name: 'Carl' } })).body;
  const agent = await startSealedAgent(first.url, session, { width: 64, height: 64 });
  t.teardown(() => agent.close());
  const viewer = await connectViewer(first.url, session.session_code, token);
  t.teardown(() => viewer.close());
  await viewer.waitSealed();
  await viewer.waitControl('screen');

  // Same data dir and UDP range, another HTTP port: the old failure closed every session here.
  const second = await spawnRac(serveArgs({ dataDir: first.dataDir, udpPorts: first.udpPorts }), { env: process.env });
  t.equal(second.code, 1, 'the second broker exits non-zero');
  t.match(second.stderr, `another rac serve (pid ${first.process.pid}) is using ${first.dataDir}`, 'and names the first one');
  t.notMatch(second.stderr, /listening|closing it|EADDRINUSE/, 'it bound nothing and closed nothing');
  t.equal(readFileSync(join(first.dataDir, LOCK_FILE), 'utf8').trim(), String(first.process.pid), 'the lock is still the first one');

  const info = await call(first.api, 'GET', `/sessions/${session.session_code}/info`);
  t.same(
    info.body,
    {
      session_code: session.session_code,
      udp_port: session.udp_port,
      status: 'active',
      allow_unencrypted_agent: false,
      ...NAMED_RELAY,
    },
    'the session is untouched',
  );
  const picture = solidJpeg([0, 128, 255]);
  const next = viewer.nextFrame();
  await agent.sendFrame(picture);
  t.ok((await next).jpeg.equals(picture), 'and still streams agent → viewer');

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
  const refused = await spawnRac(serveArgs({ dataDir: broker.dataDir }), { env: process.env });
  t.equal(refused.code, 1);
  t.match(refused.stderr, `another rac serve (pid ${sleeper.pid}) is using ${broker.dataDir}`);
  t.match(refused.stderr, `delete ${lockFile} if that pid is not a rac serve`, 'says how to get out');
});

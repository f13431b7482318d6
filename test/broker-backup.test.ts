// rac admin backup against a real broker: taken while sessions are being created, written with
// mode 600, and restored the documented way (stop, delete the WAL files, tar -xf, start) into a
// broker where every user, every session the backup saw, and the logins (the JWT key) are present.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Session, User } from '../src/protocol/broker-api.js';
import { call, login, randomUdpRange, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, loggedInEnv, rac, spawnRac } from './helpers/cli.js';

const USERS = ['ana@example.test', 'ben@example.test', 'cem@example.test'];
/** A bound on the sessions created while the backup runs. */
const MAX_SESSIONS = 2000;

t.test('a backup taken while sessions are created restores every user and every session it saw', async (t) => {
  const udpPorts = randomUdpRange(20);
  const original = await startBrokerProcess({ udpPorts });
  t.teardown(() => original.stop());
  const token = await login(original.api);
  for (const email of USERS) {
    const res = await call(original.api, 'POST', '/users', { token, body: { email, password: 'a-long-enough-password', role: 'tech' } });
    t.equal(res.status, 200, `user ${email} created`);
  }
  const env = await loggedInEnv(original.url);
  const file = join(mkdtempSync(join(tmpdir(), 'rac-backup-')), 'rac.tar');

  // Sessions are created (and closed, to keep within the user's limit) one after another until the
  // backup command has finished.
  const created: number[] = [];
  let backupDone = false;
  const creating = (async () => {
    for (let i = 0; !backupDone && i < MAX_SESSIONS; i++) {
      const res = await call<Session>(original.api, 'POST', '/sessions', { token, body: { customer_name: `Customer ${i}` } });
      if (res.status !== 200) throw new Error(`session ${i}: ${res.status} ${JSON.stringify(res.body)}`);
      created.push(res.body.id);
      await call(original.api, 'DELETE', `/sessions/${res.body.id}`, { token });
    }
  })();
  while (created.length < 5) await new Promise((resolve) => setImmediate(resolve));
  const beforeBackup = created.length;
  const backup = await spawnRac(['admin', 'backup', file], { env });
  const duringBackup = created.length - beforeBackup;
  backupDone = true;
  await creating;
  t.ok(duringBackup > 0, `${duringBackup} sessions were created while the backup command ran`);
  t.equal(backup.code, 0, backup.stderr);
  t.match(backup.stderr, `written to ${file}`);
  t.equal(statSync(file).mode & 0o777, 0o600, 'the backup file has mode 600');
  const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n').sort();
  t.same(listed, ['jwt-secret.key', 'rac.db', 'smtp-secret.key'], 'it holds the database and both keys');

  // Restore the documented way: stop, replace, start (same UDP range, as on the same server).
  t.equal(await original.stop(), 0);
  const restoredDir = mkdtempSync(join(tmpdir(), 'rac-restored-'));
  mkdirSync(restoredDir, { recursive: true });
  execFileSync('tar', ['-xf', file, '-C', restoredDir]);
  const restored = await startBrokerProcess({ dataDir: restoredDir, udpPorts });
  t.teardown(() => restored.stop());

  const users = await call<User[]>(restored.api, 'GET', '/users', { token });
  t.equal(users.status, 200, "the original broker's token still works: the JWT key came back");
  t.same(users.body.map((u) => u.email).sort(), ['admin@localhost', ...USERS].sort(), 'every user is there');
  // The list holds the newest 100; older sessions are looked up one by one (a closed one answers 410, a missing one 404).
  const newest = (await call<Session[]>(restored.api, 'GET', '/sessions', { token })).body.map((s) => s.id).sort((a, b) => a - b);
  const snapshot = created.slice(0, created.indexOf(Math.max(...newest)) + 1);
  t.ok(
    snapshot.length >= beforeBackup,
    `the ${beforeBackup} sessions created before the backup started are there (${snapshot.length} restored)`,
  );
  t.ok(snapshot.length < created.length, 'and not those created after it');
  t.same(newest, snapshot.slice(-newest.length), 'a consistent snapshot: the newest sessions, in order, none missing between');
  const olderMissing = [];
  for (const id of snapshot.slice(0, -newest.length)) {
    if ((await call(restored.api, 'GET', `/sessions/${id}/stats`, { token })).status !== 410) olderMissing.push(id);
  }
  t.same(olderMissing, [], `and each of the ${snapshot.length - newest.length} older ones`);
  const tech = await call(restored.api, 'POST', '/auth/login', { body: { email: USERS[0], password: 'a-long-enough-password' } });
  t.equal(tech.status, 200, 'a restored user logs in with their password');
});

t.test('only an admin gets a backup; a tech user is refused and no file is written', async (t) => {
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  await call(broker.api, 'POST', '/users', {
    token,
    body: { email: 'tom@example.test', password: 'a-long-enough-password', role: 'tech' },
  });
  const env = isolatedEnv();
  const loggedIn = await rac(['login', '--server', broker.url, '--email', 'tom@example.test', '--password-stdin'], {
    env,
    stdin: 'a-long-enough-password\n',
  });
  t.equal(loggedIn.code, 0, loggedIn.stderr);
  const file = join(mkdtempSync(join(tmpdir(), 'rac-backup-')), 'rac.tar');
  const refused = await rac(['admin', 'backup', file], { env });
  t.equal(refused.code, 3);
  t.match(refused.stderr, '(logged in as tom@example.test): log in as an admin');
  t.equal(statSync(file, { throwIfNoEntry: false }), undefined, 'no file');
});

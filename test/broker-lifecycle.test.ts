// The broker across time: restarts keep everything (logins included), pending sessions expire, the
// UDP range can run out, and every action is audited. The throttles are in broker-throttle.test.ts.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitUntil } from './helpers/patience.js';
import type { Session } from '../src/protocol/broker-api.js';
import { ADMIN_PASSWORD, call, login, startBrokerProcess } from './helpers/broker-process.js';

t.test('a restart on the same data dir keeps users, sessions, settings and logins', async (t) => {
  const first = await startBrokerProcess();
  const token = await login(first.api);
  const user = await call(first.api, 'POST', '/users', { token, body: { email: 'keep@example.com', password: 'keep-password' } });
  const techToken = await login(first.api, 'keep@example.com', 'keep-password');
  const session = (await call(first.api, 'POST', '/sessions', { token: techToken, body: { customer_name: 'Kept' } })).body;
  await call(first.api, 'POST', '/smtp/config', {
    token,
    body: { smtp_host: 'mail.example.com', smtp_port: 25, security_type: 'NONE', from_email: 'rac@example.com' },
  });
  t.equal(await first.stop(), 0, 'SIGTERM stops the broker cleanly');

  for (const name of ['rac.db', 'jwt-secret.key', 'smtp-secret.key']) {
    t.equal(statSync(join(first.dataDir, name)).mode & 0o777, 0o600, `${name} is mode 0600`);
  }
  t.equal(statSync(first.dataDir).mode & 0o777, 0o700, 'the data dir is private');

  // The admin password env var is ignored once an admin exists.
  const second = await startBrokerProcess({
    dataDir: first.dataDir,
    udpPorts: first.udpPorts,
    env: { RAC_ADMIN_PASSWORD: 'something-else' },
  });
  t.teardown(() => second.stop());
  t.notMatch(second.stderr(), /First admin created/, 'no second first admin');
  t.equal((await call(second.api, 'GET', '/users', { token })).status, 200, 'the old admin token still works');
  const sessions = await call(second.api, 'GET', '/sessions', { token: techToken });
  t.equal(sessions.status, 200, "the tech's old token still works");
  t.match(sessions.body, [
    { id: session.id, session_code: session.session_code, customer_name: 'Kept', status: 'pending', udp_port: session.udp_port },
  ]);
  t.equal((await call(second.api, 'GET', `/sessions/${session.session_code}/info`)).status, 200, 'the live session is still there');
  t.match((await call(second.api, 'GET', '/smtp/config', { token })).body, { configured: true, smtp_host: 'mail.example.com' });
  t.equal((await call(second.api, 'GET', '/users', { token })).body.length, 2);
  t.equal(user.status, 200);
  t.equal((await login(second.api, 'admin@localhost', ADMIN_PASSWORD)).length > 0, true, 'the first admin password still works');
});

t.test('without RAC_ADMIN_PASSWORD the first admin gets a random password, printed once', async (t) => {
  const env = { RAC_ADMIN_PASSWORD: '' };
  const first = await startBrokerProcess({ env });
  const match = /admin@localhost\s+password: (\S+)/.exec(first.stderr());
  t.ok(match, 'the password is printed');
  const password = match![1]!;
  t.ok(password.length >= 16, 'and it is long');
  t.ok(await login(first.api, 'admin@localhost', password));
  t.equal(
    (await call(first.api, 'POST', '/auth/login', { body: { email: 'admin@localhost', password: 'admin' } })).status,
    401,
    'no default password',
  );
  await first.stop();
  const second = await startBrokerProcess({ dataDir: first.dataDir, env });
  t.teardown(() => second.stop());
  t.notMatch(second.stderr(), /password/, 'not printed again');
});

t.test('pending sessions nobody joins expire and free their port', async (t) => {
  const broker = await startBrokerProcess({ args: ['--pending-timeout', '2s'] });
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const session = (await call(broker.api, 'POST', '/sessions', { token, body: {} })).body;
  t.equal(session.status, 'pending');
  const status = async () => (await call<Session[]>(broker.api, 'GET', '/sessions', { token })).body[0]!.status;
  await t.resolves(
    waitUntil('the pending session to expire', async () => (await status()) === 'closed', 250),
    'the pending session was closed',
  );
  t.equal((await call(broker.api, 'GET', `/sessions/${session.session_code}/info`)).status, 410);
});

t.test('when the UDP range is used up, session creation says so', async (t) => {
  const base = 30000 + Math.floor(Math.random() * 1000) * 10;
  const broker = await startBrokerProcess({ udpPorts: { first: base, last: base + 1 } });
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const a = await call(broker.api, 'POST', '/sessions', { token, body: {} });
  const b = await call(broker.api, 'POST', '/sessions', { token, body: {} });
  t.same([a.status, b.status], [200, 200]);
  t.same(new Set([a.body.udp_port, b.body.udp_port]), new Set([base, base + 1]));
  const c = await call(broker.api, 'POST', '/sessions', { token, body: {} });
  t.equal(c.status, 500);
  t.match(c.body.detail, new RegExp(`Failed to allocate UDP port.*${base}-${base + 1}`));
  await call(broker.api, 'DELETE', `/sessions/${a.body.id}`, { token });
  const d = await call(broker.api, 'POST', '/sessions', { token, body: {} });
  t.equal(d.status, 200, 'a freed port is reused');
  t.equal(d.body.udp_port, a.body.udp_port);
});

t.test('every action lands in the audit log', async (t) => {
  const broker = await startBrokerProcess();
  const token = await login(broker.api);
  await call(broker.api, 'POST', '/auth/login', { body: { email: 'admin@localhost', password: 'wrong-password' } });
  const user = (await call(broker.api, 'POST', '/users', { token, body: { email: 'audited@example.com', password: 'audited-pass' } })).body;
  await call(broker.api, 'PATCH', `/users/${user.id}`, { token, body: { password: 'audited-pass-2', max_sessions: 4 } });
  const session = (await call(broker.api, 'POST', '/sessions', { token, body: {} })).body;
  await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token });
  await broker.stop();

  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(broker.dataDir, 'rac.db'), { readonly: true });
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY id').all() as Record<string, string | number | null>[];
  db.close();
  const actions = rows.map((r) => r.action);
  t.same(actions, [
    'user.create_first_admin',
    'auth.login',
    'auth.login_failed',
    'user.create',
    'user.update',
    'session.create',
    'session.close',
  ]);
  const update = rows.find((r) => r.action === 'user.update')!;
  t.match(update, { actor_id: 1, actor_email: 'admin@localhost', address: '127.0.0.1', target_type: 'user', target_id: String(user.id) });
  t.same(JSON.parse(String(update.detail)), { password: '(changed)', max_sessions: 4 });
  t.notOk(JSON.stringify(rows).includes('audited-pass'), 'no password in the audit log');
  t.match(
    rows.find((r) => r.action === 'session.close'),
    { target_type: 'session', target_id: String(session.id) },
  );
});

// The broker's REST API against a real `rac serve` process: every endpoint, every status the spec
// lists, and the role matrix (admin / tech / other tech / no token / bad token).
import t from 'tap';
import type { Session, User } from '../src/protocol/broker-api.js';
import { ADMIN_EMAIL, NAMED_RELAY, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { udpBindError } from './helpers/session-peers.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const api = broker.api;
const admin = await login(api);

async function createTech(email: string, extra: Record<string, unknown> = {}) {
  const res = await call(api, 'POST', '/users', {
    token: admin,
    body: { email, password: 'tech-password-1', full_name: `Tech ${email}`, role: 'tech', ...extra },
  });
  if (res.status !== 200) throw new Error(`create ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return { user: res.body, token: await login(api, email, 'tech-password-1') };
}

const tech = await createTech('tech@example.com', { max_sessions: 3 });
const otherTech = await createTech('other@example.com');

t.test('health answers without auth, at /health and /api/health', async (t) => {
  t.same((await call(broker.url, 'GET', '/health')).body, { status: 'healthy' });
  t.same((await call(api, 'GET', '/health')).body, { status: 'healthy' });
});

t.test('POST /auth/login', async (t) => {
  const ok = await call(api, 'POST', '/auth/login', { body: { email: ADMIN_EMAIL, password: 'admin-password-for-tests' } });
  t.equal(ok.status, 200);
  t.equal(ok.body.token_type, 'bearer');
  t.match(ok.body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  t.same(ok.body.user, { id: 1, email: ADMIN_EMAIL, full_name: 'System Administrator', role: 'admin' });

  const wrong = await call(api, 'POST', '/auth/login', { body: { email: ADMIN_EMAIL, password: 'nope-nope' } });
  t.equal(wrong.status, 401);
  t.match(wrong.body, { detail: String });
  const unknown = await call(api, 'POST', '/auth/login', { body: { email: 'ghost@example.com', password: 'nope-nope' } });
  t.equal(unknown.status, 401);
  t.equal(unknown.body.detail, wrong.body.detail, 'unknown email and wrong password look the same');
  const missing = await call(api, 'POST', '/auth/login', { body: { email: ADMIN_EMAIL } });
  t.equal(missing.status, 400);
  t.match(missing.body.detail, /password/);
  t.equal(
    (await call(api, 'POST', '/auth/login', { body: { email: ADMIN_EMAIL, password: 'TECH-PASSWORD-1'.toLowerCase() } })).status,
    401,
  );
  t.equal(
    (await call(api, 'POST', '/auth/login', { body: { email: 'TECH@EXAMPLE.COM', password: 'tech-password-1' } })).status,
    200,
    'emails are case-insensitive',
  );
});

t.test('POST /users and GET /users: admin only', async (t) => {
  const created = await call(api, 'POST', '/users', {
    token: admin,
    body: { email: 'newuser@example.com', password: 'securepass123', full_name: 'Jane Smith', role: 'tech', max_sessions: 10 },
  });
  t.equal(created.status, 200);
  t.match(created.body, {
    id: Number,
    email: 'newuser@example.com',
    full_name: 'Jane Smith',
    role: 'tech',
    max_sessions: 10,
    is_active: true,
  });
  t.match(created.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'ISO 8601 timestamp');
  t.notOk('password' in created.body || 'password_hash' in created.body, 'no password in the answer');

  const defaults = await call(api, 'POST', '/users', { token: admin, body: { email: 'defaults@example.com', password: 'securepass123' } });
  t.match(defaults.body, { role: 'tech', max_sessions: 10, full_name: null, is_active: true });

  const duplicate = await call(api, 'POST', '/users', { token: admin, body: { email: 'NEWUSER@example.com', password: 'securepass123' } });
  t.equal(duplicate.status, 400);
  t.match(duplicate.body.detail, /already exists/);

  for (const [body, field] of [
    [{ password: 'securepass123' }, 'email'],
    [{ email: 'not-an-email', password: 'securepass123' }, 'email'],
    [{ email: 'x@example.com', password: 'short' }, 'password'],
    [{ email: 'x@example.com', password: 'securepass123', role: 'root' }, 'role'],
    [{ email: 'x@example.com', password: 'securepass123', max_sessions: '5' }, 'max_sessions'],
    [{ email: 'x@example.com', password: 'securepass123', max_sessions: -1 }, 'max_sessions'],
    [{ email: 'x@example.com', password: 'securepass123', full_name: 42 }, 'full_name'],
  ] as const) {
    const res = await call(api, 'POST', '/users', { token: admin, body });
    t.equal(res.status, 400, `400 for ${JSON.stringify(body)}`);
    t.match(res.body.detail, field, `detail names ${field}`);
  }

  const list = await call<User[]>(api, 'GET', '/users', { token: admin });
  t.equal(list.status, 200);
  t.ok(Array.isArray(list.body));
  t.match(list.body[0], { id: 1, email: ADMIN_EMAIL, role: 'admin', max_sessions: 50, is_active: true });
  t.ok(list.body.some((u: { email: string }) => u.email === 'newuser@example.com'));
  t.notOk(JSON.stringify(list.body).includes('scrypt'), 'no hashes in the list');

  // The role matrix for the admin-only routes.
  for (const [method, path, body] of [
    ['GET', '/users', undefined],
    ['POST', '/users', { email: 'y@example.com', password: 'securepass123' }],
    ['PATCH', `/users/${tech.user.id}`, { full_name: 'x' }],
    ['GET', '/smtp/config', undefined],
    ['POST', '/smtp/config', { smtp_host: 'h', smtp_port: 25, security_type: 'NONE', from_email: 'a@b.c' }],
  ] as const) {
    t.equal((await call(api, method, path, { token: tech.token, body })).status, 403, `tech → 403 on ${method} ${path}`);
    t.equal((await call(api, method, path, { body })).status, 401, `no token → 401 on ${method} ${path}`);
    t.equal((await call(api, method, path, { token: 'not.a.token', body })).status, 401, `bad token → 401 on ${method} ${path}`);
  }
  const forged = admin.slice(0, -4) + (admin.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  t.equal((await call(api, 'GET', '/users', { token: forged })).status, 401, 'a token with a forged signature → 401');
  const noBearer = await fetch(`${api}/users`, { headers: { authorization: admin } });
  t.equal(noBearer.status, 401, 'the Bearer scheme is required');
});

t.test('PATCH /users/{id}', async (t) => {
  const { user, token } = await createTech('patched@example.com');
  const res = await call(api, 'PATCH', `/users/${user.id}`, {
    token: admin,
    body: { full_name: 'New Name', max_sessions: 2, role: 'admin' },
  });
  t.equal(res.status, 200);
  t.match(res.body, { id: user.id, full_name: 'New Name', max_sessions: 2, role: 'admin', is_active: true });
  t.equal((await call(api, 'GET', '/users', { token })).status, 200, 'the new role applies to the existing token');

  const demoted = await call(api, 'PATCH', `/users/${user.id}`, { token: admin, body: { role: 'tech' } });
  t.equal(demoted.body.role, 'tech');
  t.equal((await call(api, 'GET', '/users', { token })).status, 403, 'and so does a demotion');

  const password = await call(api, 'PATCH', `/users/${user.id}`, { token: admin, body: { password: 'another-password' } });
  t.equal(password.status, 200);
  t.equal((await call(api, 'GET', '/sessions', { token })).status, 401, 'a password change revokes old tokens');
  const fresh = await login(api, 'patched@example.com', 'another-password');
  t.equal((await call(api, 'GET', '/sessions', { token: fresh })).status, 200);

  const disabled = await call(api, 'PATCH', `/users/${user.id}`, { token: admin, body: { is_active: false } });
  t.equal(disabled.body.is_active, false);
  t.equal((await call(api, 'GET', '/sessions', { token: fresh })).status, 401, "a disabled user's token stops working");
  t.equal((await call(api, 'POST', '/auth/login', { body: { email: 'patched@example.com', password: 'another-password' } })).status, 401);
  await call(api, 'PATCH', `/users/${user.id}`, { token: admin, body: { is_active: true } });
  t.equal((await call(api, 'GET', '/sessions', { token: fresh })).status, 401, 're-enabling does not revive old tokens');

  t.equal((await call(api, 'PATCH', '/users/99999', { token: admin, body: { full_name: 'x' } })).status, 404);
  t.equal((await call(api, 'PATCH', '/users/abc', { token: admin, body: { full_name: 'x' } })).status, 400);
  const empty = await call(api, 'PATCH', `/users/${user.id}`, { token: admin, body: {} });
  t.equal(empty.status, 400);
  t.match(empty.body.detail, /at least one/);
  t.equal((await call(api, 'PATCH', `/users/${user.id}`, { token: admin, body: { is_active: 'no' } })).status, 400);
  const lastAdmin = await call(api, 'PATCH', '/users/1', { token: admin, body: { is_active: false } });
  t.equal(lastAdmin.status, 400, 'the last admin cannot lock everyone out');
  t.match(lastAdmin.body.detail, /last active admin/);
});

t.test('SMTP config: stored, password never returned', async (t) => {
  t.same((await call(api, 'GET', '/smtp/config', { token: admin })).body, { configured: false });
  const body = {
    smtp_host: 'smtp.office365.com',
    smtp_port: 587,
    security_type: 'TLS',
    username: 'noreply@company.com',
    password: 'app_password_here',
    from_email: 'noreply@company.com',
    require_auth: true,
  };
  const saved = await call(api, 'POST', '/smtp/config', { token: admin, body });
  t.equal(saved.status, 200);
  t.same(saved.body, { message: 'SMTP configured successfully' });
  const shown = await call(api, 'GET', '/smtp/config', { token: admin });
  const { password: _secret, ...expected } = body;
  t.same(shown.body, { configured: true, ...expected });
  t.notOk(JSON.stringify(shown.body).includes('app_password_here'));

  for (const [change, field] of [
    [{ smtp_port: 0 }, 'smtp_port'],
    [{ smtp_port: 70000 }, 'smtp_port'],
    [{ smtp_port: '587' }, 'smtp_port'],
    [{ security_type: 'STARTTLS' }, 'security_type'],
    [{ from_email: 'nope' }, 'from_email'],
    [{ smtp_host: '' }, 'smtp_host'],
    [{ require_auth: 'yes' }, 'require_auth'],
  ] as const) {
    const res = await call(api, 'POST', '/smtp/config', { token: admin, body: { ...body, ...change } });
    t.equal(res.status, 400, `400 for ${JSON.stringify(change)}`);
    t.match(res.body.detail, field);
  }
  const noUser = await call(api, 'POST', '/smtp/config', { token: admin, body: { ...body, username: null } });
  t.equal(noUser.status, 400);
  t.match(noUser.body.detail, /username/);
  const keepPassword = await call(api, 'POST', '/smtp/config', { token: admin, body: { ...body, password: undefined, smtp_port: 2525 } });
  t.equal(keepPassword.status, 200, 'leaving the password out keeps the stored one');
});

t.test('sessions: create, list, info, close', async (t) => {
  const created = await call<Session>(api, 'POST', '/sessions', {
    token: tech.token,
    body: { customer_name: 'John Customer', customer_email: 'customer@example.com' },
  });
  t.equal(created.status, 200);
  const session = created.body;
  t.match(session, {
    id: Number,
    session_code: /^\d{9}$/,
    tech_user_id: tech.user.id,
    customer_name: 'John Customer',
    customer_email: 'customer@example.com',
    status: 'pending',
    udp_port: Number,
    created_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
  });
  t.ok(session.udp_port >= broker.udpPorts.first && session.udp_port <= broker.udpPorts.last, 'port from the range');

  // The port is bound for the session's life: nobody else can take it.
  t.equal(await udpBindError(session.udp_port), 'EADDRINUSE', 'the session port is held by the broker');

  const bare = await call<Session>(api, 'POST', '/sessions', { token: tech.token });
  t.equal(bare.status, 200, 'both fields are optional, even the body');
  t.match(bare.body, { customer_name: null, customer_email: null });
  const blank = await call<Session>(api, 'POST', '/sessions', { token: tech.token, body: { customer_name: '', customer_email: '' } });
  t.match(blank.body, { customer_name: null, customer_email: null }, 'blank fields mean none');
  t.not(bare.body.session_code, session.session_code);
  t.not(bare.body.udp_port, session.udp_port);

  const limited = await call(api, 'POST', '/sessions', { token: tech.token, body: {} });
  t.equal(limited.status, 429, 'max_sessions (3) counts pending sessions');
  t.match(limited.body.detail, /Maximum concurrent sessions/);

  const badEmail = await call(api, 'POST', '/sessions', { token: tech.token, body: { customer_email: 'not-an-email' } });
  t.equal(badEmail.status, 400);
  t.match(badEmail.body.detail, /customer_email/);
  t.equal((await call(api, 'POST', '/sessions', {})).status, 401);

  const info = await call(api, 'GET', `/sessions/${session.session_code}/info`);
  t.equal(info.status, 200);
  t.same(info.body, {
    session_code: session.session_code,
    udp_port: session.udp_port,
    status: 'pending',
    allow_unencrypted_agent: false,
    ...NAMED_RELAY,
  });
  const absent = session.session_code === '999999999' ? '999999998' : '999999999';
  t.equal((await call(api, 'GET', `/sessions/${absent}/info`)).status, 404, 'an unknown code');
  t.equal((await call(api, 'GET', '/sessions/12ab/info')).status, 404, 'a malformed code');

  const mine = await call<Session[]>(api, 'GET', '/sessions', { token: tech.token });
  t.same(
    mine.body.map((s: { id: number }) => s.id),
    [blank.body.id, bare.body.id, session.id],
    'own sessions, newest first',
  );
  t.same((await call(api, 'GET', '/sessions', { token: otherTech.token })).body, [], "another tech's list is empty");
  const all = await call<Session[]>(api, 'GET', '/sessions', { token: admin });
  t.ok(
    all.body.some((s: { id: number }) => s.id === session.id),
    'an admin sees every session',
  );

  t.equal((await call(api, 'DELETE', `/sessions/${session.id}`, { token: otherTech.token })).status, 403, 'another tech cannot close it');
  t.equal((await call(api, 'DELETE', `/sessions/${session.id}`)).status, 401);
  t.equal((await call(api, 'DELETE', '/sessions/999999', { token: tech.token })).status, 404);
  t.equal((await call(api, 'DELETE', '/sessions/abc', { token: tech.token })).status, 400);
  const closed = await call(api, 'DELETE', `/sessions/${session.id}`, { token: tech.token });
  t.equal(closed.status, 200);
  t.same(closed.body, { message: 'Session closed successfully', already_closed: false });
  t.equal((await call(api, 'GET', `/sessions/${session.session_code}/info`)).status, 410, 'a closed session is gone');
  const again = await call(api, 'DELETE', `/sessions/${session.id}`, { token: tech.token });
  t.equal(again.status, 200, 'closing twice is harmless');
  t.same(again.body, { message: 'Session was already closed', already_closed: true }, 'and does not claim it closed it');
  const listed = (await call<Session[]>(api, 'GET', '/sessions', { token: tech.token })).body.find((s) => s.id === session.id);
  t.equal(listed?.status, 'closed');

  t.equal(await udpBindError(session.udp_port), null, 'the closed session’s port is free again');

  const byAdmin = await call(api, 'DELETE', `/sessions/${bare.body.id}`, { token: admin });
  t.equal(byAdmin.status, 200, 'an admin closes any session');
  t.equal((await call(api, 'POST', '/sessions', { token: tech.token, body: {} })).status, 200, 'closing frees a slot');
});

t.test('GET /sessions returns the newest 100', async (t) => {
  const { token } = await createTech('many@example.com', { max_sessions: 200 });
  const ids: number[] = [];
  for (let i = 0; i < 105; i++) {
    const res = await call<Session>(api, 'POST', '/sessions', { token, body: {} });
    ids.push(res.body.id);
    await call(api, 'DELETE', `/sessions/${res.body.id}`, { token });
  }
  const list = await call<Session[]>(api, 'GET', '/sessions', { token });
  t.equal(list.body.length, 100);
  t.same(
    list.body.map((s: { id: number }) => s.id),
    ids.slice(5).reverse(),
  );
});

t.test('unknown routes and methods answer 404 with a detail', async (t) => {
  const res = await call(api, 'GET', '/nope');
  t.equal(res.status, 404);
  t.match(res.body, { detail: /Not found/ });
});

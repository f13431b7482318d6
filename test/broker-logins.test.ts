// Login security against a real `rac serve`: the per-address throttle cannot be outrun by
// concurrent attempts, the per-account limit holds across addresses and looks the same for unknown
// accounts, old password hashes are upgraded at login, and weak passwords are refused.
// The broker trusts X-Forwarded-For from loopback, so each attempt can come from its own address.
import { randomBytes, scryptSync } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { openBrokerDatabase } from './helpers/broker-database.js';
import { type ApiResponse, ADMIN_PASSWORD, call, serveArgs, startBrokerProcess } from './helpers/broker-process.js';
import { spawnRac } from './helpers/cli.js';
import { firstThrottled, statusCounts } from './helpers/login-attempts.js';

const broker = await startBrokerProcess({ args: ['--trust-proxy', 'loopback'] });
t.teardown(() => broker.stop());

const loginFrom = (address: string, email: string, password: string): Promise<ApiResponse> =>
  call(broker.api, 'POST', '/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': address } });

const admin = (await loginFrom('192.0.2.1', 'admin@localhost', ADMIN_PASSWORD)).body.access_token as string;
const createUser = (email: string, password: string) =>
  call(broker.api, 'POST', '/users', { token: admin, body: { email, password }, headers: { 'x-forwarded-for': '192.0.2.1' } });

t.test('45 concurrent wrong logins from one address: 30 are answered 401, the rest 429', async (t) => {
  // A different account each time, so only the per-address limit (30 a minute) applies.
  await createUser('victim@example.com', 'victim-password-1');
  const attempts = Array.from({ length: 45 }, (_, i) => loginFrom('203.0.113.7', `guess-${i}@example.com`, 'wrong-password-1'));
  // A 429 comes back at once, while the 30 counted attempts are still being hashed: the address is
  // now throttled (asked within its one-minute window, however slow the hashes are).
  await firstThrottled(attempts);
  const right = await loginFrom('203.0.113.7', 'victim@example.com', 'victim-password-1');
  t.equal(right.status, 429, 'the right password from the throttled address is refused too');
  t.match(right.body.detail, /^Too many failed attempts from this address: retry in \d+ s$/);
  t.equal((await loginFrom('203.0.113.8', 'victim@example.com', 'victim-password-1')).status, 200, 'another address logs in');
  t.same(statusCounts(await Promise.all(attempts)), { 401: 30, 429: 15 }, 'the 31st attempt is refused before its password is hashed');
});

t.test('10 failures per account from any address; an unknown account is answered the same', async (t) => {
  t.equal((await createUser('target@example.com', 'target-password-1')).status, 200);
  const attack = async (email: string, net: number) => {
    // 15 at once, each from its own address: the per-address limit never applies.
    const attempts = Array.from({ length: 15 }, (_, i) => loginFrom(`198.51.${net}.${i + 1}`, email, 'wrong-password-1'));
    t.same(statusCounts(await Promise.all(attempts)), { 401: 10, 429: 5 }, `${email}: 10 × 401, then 429`);
    return loginFrom(`198.51.${net}.200`, email, 'target-password-1');
  };
  const known = await attack('target@example.com', 100);
  const unknown = await attack('nobody@example.com', 101);
  t.equal(known.status, 429, 'the account is locked for every address, even with the right password');
  const shape = (r: ApiResponse) => ({
    status: r.status,
    code: r.headers.get('x-rac-error'),
    retry: r.headers.get('retry-after') !== null,
    detail: String(r.body.detail).replace(/\d+/g, 'N'),
  });
  t.same(shape(unknown), shape(known), 'an unknown account gets the same answer');
  t.match(known.body.detail, /^Too many failed attempts for this account: retry in \d+ s$/);
  t.equal((await loginFrom('198.51.102.1', 'TARGET@example.com ', 'target-password-1')).status, 429, 'case and spaces do not help');
});

t.test('a hash made with the old scrypt parameters is upgraded at the next login', async (t) => {
  const created = await createUser('old@example.com', 'old-hash-password');
  t.equal(created.status, 200);
  const salt = randomBytes(16);
  const key = scryptSync('old-hash-password', salt, 32, { N: 16384, r: 8, p: 1 });
  const oldHash = ['scrypt', 16384, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
  const db = await openBrokerDatabase(broker);
  t.teardown(() => db.close());
  await db.run('UPDATE users SET password_hash = ? WHERE id = ?', [oldHash, Number(created.body.id)]);
  const stored = async () =>
    (await db.get<{ password_hash: string; token_version: number }>('SELECT password_hash, token_version FROM users WHERE id = ?', [
      Number(created.body.id),
    ]))!;

  t.equal((await loginFrom('192.0.2.50', 'old@example.com', 'old-hash-password')).status, 200, 'the old hash still verifies');
  const upgraded = await stored();
  t.match(upgraded.password_hash, /^scrypt\$131072\$8\$1\$/, 'stored again with N = 2^17');
  t.equal(upgraded.token_version, 0, 'an upgrade is no password change: logins are not revoked');
  t.equal((await loginFrom('192.0.2.50', 'old@example.com', 'old-hash-password')).status, 200, 'the new hash verifies');
  t.equal((await loginFrom('192.0.2.50', 'old@example.com', 'not-the-password')).status, 401);
  t.equal((await stored()).password_hash, upgraded.password_hash, 'a failed login changes nothing');
});

t.test('passwords have at least 12 characters', async (t) => {
  const short = await createUser('short@example.com', 'eleven-char');
  t.equal(short.status, 400);
  t.match(short.body.detail, /^password: /, 'the detail names the field');
  t.equal((await createUser('twelve@example.com', 'twelve-chars')).status, 200);

  const dataDir = mkdtempSync(join(tmpdir(), 'rac-broker-'));
  const serve = await spawnRac(serveArgs({ dataDir }), {
    env: { ...process.env, RAC_ADMIN_PASSWORD: 'eleven-char' },
  });
  t.equal(serve.code, 2, 'rac serve refuses to start');
  t.match(serve.stderr, /RAC_ADMIN_PASSWORD has 11 characters; it needs at least 12: set a longer one, or unset it/);
  t.notOk(existsSync(join(dataDir, 'rac.db')), 'before creating anything');
});

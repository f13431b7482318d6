// rac login / logout against a real broker: the 0600 file fallback, overrides, and the exit code
// of every failure class (unreachable, bad password, usage, expired / revoked token, forbidden).
import { SignJWT, decodeJwt } from 'jose';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ADMIN_EMAIL, ADMIN_PASSWORD, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { firstLine, isolatedEnv, loggedInEnv, rac } from './helpers/cli.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const loginArgs = ['login', '--server', broker.url, '--email', ADMIN_EMAIL, '--password-stdin'];

t.test('login with --password-stdin stores the token in a 0600 file when there is no credential store', async (t) => {
  const env = isolatedEnv();
  const result = await rac(loginArgs, { env, stdin: `${ADMIN_PASSWORD}\n` });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, '', 'messages go to stderr');
  const dir = join(env.XDG_CONFIG_HOME!, 'rac');
  t.equal(
    result.stderr,
    `no system keyring; token stored in ${join(dir, 'token')} (mode 600)\nLogged in to ${broker.url} as ${ADMIN_EMAIL} (admin).\n`,
    'one line about the keyring, no D-Bus error text',
  );
  t.match(result.stderr, `Logged in to ${broker.url} as ${ADMIN_EMAIL} (admin)`);

  t.equal(statSync(join(dir, 'token')).mode & 0o777, 0o600, 'token file is 0600');
  t.equal(statSync(dir).mode & 0o777, 0o700, 'config dir is 0700');
  const stored = JSON.parse(readFileSync(join(dir, 'token'), 'utf8'));
  t.equal(stored.server, broker.url);
  t.equal(decodeJwt(stored.token).sub, '1', 'a real token of user 1');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  t.same(config, { server: broker.url, email: ADMIN_EMAIL, token_store: 'file' }, 'config holds no secret');

  const list = await rac(['session', 'list', '--json'], { env });
  t.equal(list.code, 0, list.stderr);
  t.same(JSON.parse(list.stdout), []);
});

t.test('login --json describes the login; a trailing /api in --server is accepted', async (t) => {
  const env = isolatedEnv();
  const result = await rac(['login', '--server', `${broker.url}/api/`, '--email', ADMIN_EMAIL, '--password-stdin', '--json'], {
    env,
    stdin: ADMIN_PASSWORD,
  });
  t.equal(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout);
  t.equal(doc.server, broker.url);
  t.same(doc.user, { id: 1, email: ADMIN_EMAIL, full_name: 'System Administrator', role: 'admin' });
  t.equal(doc.token_store, 'file');
  t.notMatch(result.stdout, /ey[A-Za-z0-9_-]{20,}/, 'the token is never printed');
});

t.test('logout forgets the token; commands then say how to log in again (exit 3)', async (t) => {
  const env = await loggedInEnv(broker.url);
  const out = await rac(['logout'], { env });
  t.equal(out.code, 0, out.stderr);
  t.match(out.stderr, `Logged out of ${broker.url}`);
  t.throws(() => statSync(join(env.XDG_CONFIG_HOME!, 'rac', 'token')), { code: 'ENOENT' });
  const list = await rac(['session', 'list'], { env });
  t.equal(list.code, 3);
  t.equal(list.stderr, `rac: not logged in to ${broker.url}: run \`rac login --server ${broker.url} --email ${ADMIN_EMAIL}\`\n`);
  const again = await rac(['logout'], { env });
  t.equal(again.code, 0);
  t.match(again.stderr, /Not logged in/);
  // The stored server and email make the next login short.
  const relogin = await rac(['login', '--password-stdin'], { env, stdin: ADMIN_PASSWORD });
  t.equal(relogin.code, 0, relogin.stderr);
});

t.test('never logged in: exit 3 with the command to run', async (t) => {
  const result = await rac(['session', 'list'], { env: isolatedEnv() });
  t.equal(result.code, 3);
  t.equal(result.stderr, 'rac: not logged in: run `rac login --server URL --email EMAIL`\n');
});

t.test('a wrong password is exit 3 with the server detail, and stores nothing', async (t) => {
  const env = isolatedEnv();
  const result = await rac(loginArgs, { env, stdin: 'not-the-password\n' });
  t.equal(result.code, 3);
  t.equal(result.stderr, 'rac: Incorrect email or password\n');
  t.throws(() => statSync(join(env.XDG_CONFIG_HOME!, 'rac', 'token')), { code: 'ENOENT' });
});

t.test('an unreachable server is exit 1 naming the URL', async (t) => {
  const result = await rac(['login', '--server', 'http://127.0.0.1:1', '--email', ADMIN_EMAIL, '--password-stdin'], {
    env: isolatedEnv(),
    stdin: 'whatever-password',
  });
  t.equal(result.code, 1);
  t.equal(
    firstLine(result.stderr),
    'rac: cannot reach the broker at http://127.0.0.1:1: connection refused (is `rac serve` running there?); check --server or RAC_SERVER',
  );
  const info = await rac(['session', 'info', '123456789', '--server', 'http://no-such-host.invalid'], { env: isolatedEnv() });
  t.equal(info.code, 1);
  t.match(info.stderr, /^rac: cannot reach the broker at http:\/\/no-such-host\.invalid: unknown host name/);
});

t.test('usage errors are exit 2 and never prompt', async (t) => {
  const noStdin = await rac(['login', '--server', broker.url, '--email', ADMIN_EMAIL], { env: isolatedEnv() });
  t.equal(noStdin.code, 2);
  t.equal(noStdin.stderr, 'rac: no terminal to ask for the password on: pipe it in and pass --password-stdin\n');
  const noEmail = await rac(['login', '--server', broker.url, '--password-stdin'], { env: isolatedEnv(), stdin: 'x' });
  t.equal(noEmail.code, 2);
  t.match(noEmail.stderr, /--email: required/);
  const noServer = await rac(['login', '--email', ADMIN_EMAIL, '--password-stdin'], { env: isolatedEnv(), stdin: 'x' });
  t.equal(noServer.code, 2);
  t.match(noServer.stderr, /no server: pass --server URL or set RAC_SERVER/);
  const badUrl = await rac(['login', '--server', 'ftp://example.com', '--email', ADMIN_EMAIL, '--password-stdin'], { env: isolatedEnv() });
  t.equal(badUrl.code, 2);
  t.match(badUrl.stderr, /--server: not an http\(s\) URL/);
  const passwordFlag = await rac(['login', '--server', broker.url, '--email', ADMIN_EMAIL, '--password', 'x'], { env: isolatedEnv() });
  t.equal(passwordFlag.code, 2, 'there is no password flag');
  t.match(passwordFlag.stderr, /unknown option '--password'/);
  const empty = await rac(loginArgs, { env: isolatedEnv(), stdin: '' });
  t.equal(empty.code, 2);
  t.match(empty.stderr, /stdin was empty/);
});

t.test('RAC_SERVER and RAC_TOKEN stand in for a stored login', async (t) => {
  const token = await login(broker.api);
  const result = await rac(['session', 'create', '--json'], { env: isolatedEnv({ RAC_SERVER: broker.url, RAC_TOKEN: token }) });
  t.equal(result.code, 0, result.stderr);
  t.match(JSON.parse(result.stdout).session_code, /^\d{9}$/);

  const noServer = await rac(['session', 'list'], { env: isolatedEnv({ RAC_TOKEN: token }) });
  t.equal(noServer.code, 3);
  t.match(noServer.stderr, /RAC_TOKEN is set but no server is known: set RAC_SERVER too/);

  // RAC_SERVER overrides the stored server: the stored token belongs to another server.
  const env = await loggedInEnv(broker.url);
  const other = await rac(['session', 'list'], { env: { ...env, RAC_SERVER: 'http://127.0.0.1:1' } });
  t.equal(other.code, 3);
  t.match(other.stderr, 'not logged in to http://127.0.0.1:1');

  const bogus = await rac(['session', 'list'], { env: isolatedEnv({ RAC_SERVER: broker.url, RAC_TOKEN: 'not-a-token' }) });
  t.equal(bogus.code, 3);
  t.equal(bogus.stderr, 'rac: Invalid or expired token: log in again: set RAC_TOKEN to a fresh token\n');
});

t.test('an expired token is exit 3 with the command to log in again', async (t) => {
  const env = await loggedInEnv(broker.url);
  const tokenFile = join(env.XDG_CONFIG_HOME!, 'rac', 'token');
  const { token } = JSON.parse(readFileSync(tokenFile, 'utf8'));
  // Re-sign the same claims with the broker's own key, expired an hour ago.
  const key = Buffer.from(readFileSync(join(broker.dataDir, 'jwt-secret.key'), 'utf8').trim(), 'base64');
  const claims = decodeJwt(token);
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({ role: claims.role, tv: claims.tv })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub!)
    .setIssuer('rac')
    .setIssuedAt(now - 90_000)
    .setExpirationTime(now - 3_600)
    .sign(key);
  const valid = await rac(['session', 'list'], { env });
  t.equal(valid.code, 0, 'the stored token works before');
  const result = await rac(['session', 'list'], { env: { ...env, RAC_TOKEN: expired } });
  t.equal(result.code, 3);
  t.match(result.stderr, /^rac: Invalid or expired token/);
  // The same, stored: the fix names the stored server and email.
  writeFileSync(tokenFile, JSON.stringify({ server: broker.url, token: expired }), { mode: 0o600 });
  const stored = await rac(['session', 'list'], { env });
  t.equal(stored.code, 3);
  t.equal(stored.stderr, `rac: Invalid or expired token: log in again: run \`rac login --server ${broker.url} --email ${ADMIN_EMAIL}\`\n`);
});

t.test('a revoked token (password changed) is exit 3; forbidden (tech on admin commands) is exit 3', async (t) => {
  const admin = await login(broker.api);
  const created = await call(broker.api, 'POST', '/users', {
    token: admin,
    body: { email: 'revoked@example.com', password: 'first-password', full_name: 'Rev Oked' },
  });
  t.equal(created.status, 200);
  const env = await loggedInEnv(broker.url, 'revoked@example.com', 'first-password');

  const forbidden = await rac(['admin', 'users', 'list'], { env });
  t.equal(forbidden.code, 3);
  t.equal(
    forbidden.stderr,
    `rac: Admin access required (logged in as revoked@example.com): log in as an admin: \`rac login --server ${broker.url} --email ADMIN-EMAIL\`\n`,
  );

  const changed = await call(broker.api, 'PATCH', `/users/${created.body.id}`, { token: admin, body: { password: 'second-password' } });
  t.equal(changed.status, 200);
  const revoked = await rac(['session', 'list'], { env });
  t.equal(revoked.code, 3);
  t.match(revoked.stderr, /^rac: Invalid or expired token: log in again: run `rac login --server .* --email revoked@example\.com`\n$/);
});

t.test('https:// against the plain-HTTP broker: one line that says so, not an OpenSSL error', async (t) => {
  const https = broker.url.replace(/^http:/, 'https:');
  const result = await rac(['login', '--server', https, '--email', ADMIN_EMAIL, '--password-stdin'], {
    env: isolatedEnv(),
    stdin: `${ADMIN_PASSWORD}\n`,
  });
  t.equal(result.code, 1, 'exit code unchanged');
  t.equal(
    result.stderr,
    `rac: cannot reach the broker at ${https}: the broker does not speak HTTPS on that port (try ${broker.url}); check --server or RAC_SERVER\n`,
  );
  t.notMatch(result.stderr, /SSL routines|ssl3_get_record/);
});

// rac admin users list|add|set|disable and rac admin smtp set|show against a real broker.
import t from 'tap';
import { ADMIN_EMAIL, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { loggedInEnv, rac } from './helpers/cli.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const admin = await loggedInEnv(broker.url);

t.test('users add (password from stdin) then list, as JSON and as a table', async (t) => {
  const added = await rac(
    ['admin', 'users', 'add', '--email', 'tom@example.com', '--full-name', 'Tom Tech', '--max-sessions', '3', '--password-stdin', '--json'],
    { env: admin, stdin: 'tom-password-1\n' },
  );
  t.equal(added.code, 0, added.stderr);
  const user = JSON.parse(added.stdout);
  t.match(user, { email: 'tom@example.com', full_name: 'Tom Tech', role: 'tech', max_sessions: 3, is_active: true });
  t.notOk('password' in user);

  const list = await rac(['admin', 'users', 'list', '--json'], { env: admin });
  t.equal(list.code, 0);
  t.same(
    JSON.parse(list.stdout).map((u: { email: string }) => u.email),
    [ADMIN_EMAIL, 'tom@example.com'],
  );

  const table = await rac(['admin', 'users', 'list'], { env: admin });
  const lines = table.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+EMAIL\s+NAME\s+ROLE\s+MAX SESSIONS\s+ACTIVE\s+CREATED$/);
  t.match(lines[2], new RegExp(`^${user.id}\\s+tom@example\\.com\\s+Tom Tech\\s+tech\\s+3\\s+yes\\s+`));

  // The password read from stdin is the one the broker stored.
  t.match(await login(broker.api, 'tom@example.com', 'tom-password-1'), /^ey/);
});

t.test('users add: a duplicate is exit 1 with the detail; bad flags are exit 2', async (t) => {
  const dup = await rac(['admin', 'users', 'add', '--email', 'tom@example.com', '--password-stdin'], {
    env: admin,
    stdin: 'some-password',
  });
  t.equal(dup.code, 1);
  t.equal(dup.stderr, 'rac: User already exists: tom@example.com\n');
  const role = await rac(['admin', 'users', 'add', '--email', 'x@example.com', '--role', 'root', '--password-stdin'], {
    env: admin,
    stdin: 'x',
  });
  t.equal(role.code, 2);
  t.match(role.stderr, /Allowed choices are admin, tech/);
  const max = await rac(['admin', 'users', 'add', '--email', 'x@example.com', '--max-sessions', 'many'], { env: admin });
  t.equal(max.code, 2);
  t.match(max.stderr, /--max-sessions: expected a number/);
  const noTty = await rac(['admin', 'users', 'add', '--email', 'x@example.com'], { env: admin });
  t.equal(noTty.code, 2, 'no password flag, no prompt without a terminal');
  t.match(noTty.stderr, /pass --password-stdin/);
  const short = await rac(['admin', 'users', 'add', '--email', 'x@example.com', '--password-stdin'], { env: admin, stdin: 'short' });
  t.equal(short.code, 1);
  t.match(short.stderr, /^rac: password: /, 'the server names the field');
});

t.test('users set by email or id; --password-stdin revokes old logins', async (t) => {
  const env = await loggedInEnv(broker.url, 'tom@example.com', 'tom-password-1');
  const set = await rac(['admin', 'users', 'set', 'tom@example.com', '--role', 'admin', '--full-name', '', '--json'], { env: admin });
  t.equal(set.code, 0, set.stderr);
  const user = JSON.parse(set.stdout);
  t.match(user, { role: 'admin', full_name: null });
  const byId = await rac(['admin', 'users', 'set', String(user.id), '--max-sessions', '7', '--json'], { env: admin });
  t.equal(JSON.parse(byId.stdout).max_sessions, 7);

  t.equal((await rac(['session', 'list'], { env })).code, 0, 'still logged in');
  const password = await rac(['admin', 'users', 'set', String(user.id), '--password-stdin'], { env: admin, stdin: 'tom-password-2\n' });
  t.equal(password.code, 0, password.stderr);
  t.match(password.stderr, /Their existing logins were revoked/);
  t.equal((await rac(['session', 'list'], { env })).code, 3, 'the old token is revoked');
  t.match(await login(broker.api, 'tom@example.com', 'tom-password-2'), /^ey/);

  const nothing = await rac(['admin', 'users', 'set', 'tom@example.com'], { env: admin });
  t.equal(nothing.code, 2);
  t.match(nothing.stderr, /nothing to change/);
  const unknown = await rac(['admin', 'users', 'set', 'nobody@example.com', '--role', 'tech'], { env: admin });
  t.equal(unknown.code, 4);
  t.equal(unknown.stderr, 'rac: User nobody@example.com not found\n');
});

t.test('users disable: the user can no longer log in or use a token; set --enable undoes it', async (t) => {
  const token = await login(broker.api);
  const created = await call(broker.api, 'POST', '/users', { token, body: { email: 'dis@example.com', password: 'dis-password' } });
  const env = await loggedInEnv(broker.url, 'dis@example.com', 'dis-password');
  const disabled = await rac(['admin', 'users', 'disable', 'dis@example.com', '--json'], { env: admin });
  t.equal(disabled.code, 0, disabled.stderr);
  t.equal(JSON.parse(disabled.stdout).is_active, false);
  const used = await rac(['session', 'create'], { env });
  t.equal(used.code, 3, 'a disabled user token is refused');
  t.match(used.stderr, /Invalid or expired token/);
  const relogin = await rac(['login', '--password-stdin'], { env, stdin: 'dis-password' });
  t.equal(relogin.code, 3);

  const enabled = await rac(['admin', 'users', 'set', String(created.body.id), '--enable', '--json'], { env: admin });
  t.equal(JSON.parse(enabled.stdout).is_active, true);
  t.equal((await rac(['login', '--password-stdin'], { env, stdin: 'dis-password' })).code, 0);
});

t.test('smtp show before and after set; the password comes from stdin and is never shown', async (t) => {
  const fresh = await startBrokerProcess();
  t.teardown(() => fresh.stop());
  const env = await loggedInEnv(fresh.url);
  const before = await rac(['admin', 'smtp', 'show', '--json'], { env });
  t.same(JSON.parse(before.stdout), { configured: false });
  const human = await rac(['admin', 'smtp', 'show'], { env });
  t.equal(human.stdout, '');
  t.match(human.stderr, /SMTP is not configured/);

  const set = await rac(
    [
      'admin',
      'smtp',
      'set',
      '--host',
      'smtp.example.com',
      '--security',
      'SSL',
      '--from',
      'noreply@example.com',
      '--username',
      'mailer',
      '--password-stdin',
      '--json',
    ],
    { env, stdin: 'smtp-secret-password\n' },
  );
  t.equal(set.code, 0, set.stderr);
  t.same(JSON.parse(set.stdout), { message: 'SMTP configured successfully' });
  const shown = await rac(['admin', 'smtp', 'show', '--json'], { env });
  t.same(JSON.parse(shown.stdout), {
    configured: true,
    smtp_host: 'smtp.example.com',
    smtp_port: 465,
    security_type: 'SSL',
    username: 'mailer',
    from_email: 'noreply@example.com',
    require_auth: true,
  });
  const table = await rac(['admin', 'smtp', 'show'], { env });
  t.match(table.stdout, /^host:\s+smtp\.example\.com\nport:\s+465\nsecurity:\s+SSL\nusername:\s+mailer\n/);
  t.notMatch(table.stdout + shown.stdout, /smtp-secret-password/);

  // Without a terminal and without --password-stdin the stored password is kept.
  const keep = await rac(
    ['admin', 'smtp', 'set', '--host', 'smtp2.example.com', '--port', '2525', '--from', 'noreply@example.com', '--username', 'mailer'],
    { env },
  );
  t.equal(keep.code, 0, keep.stderr);
  const noAuth = await rac(
    [
      'admin',
      'smtp',
      'set',
      '--host',
      'relay.lan',
      '--security',
      'NONE',
      '--from',
      'noreply@example.com',
      '--username',
      'x',
      '--no-auth',
      '--json',
    ],
    { env },
  );
  t.equal(noAuth.code, 0, noAuth.stderr);
  t.match(JSON.parse((await rac(['admin', 'smtp', 'show', '--json'], { env })).stdout), { smtp_port: 25, require_auth: false });

  const bad = await rac(['admin', 'smtp', 'set', '--host', 'smtp.example.com', '--from', 'not-an-email'], { env });
  t.equal(bad.code, 1);
  t.equal(bad.stderr, 'rac: from_email: must be a valid email address\n');
  const badSecurity = await rac(['admin', 'smtp', 'set', '--host', 'h', '--from', 'a@b.c', '--security', 'STARTTLS'], { env });
  t.equal(badSecurity.code, 2);
  const missing = await rac(['admin', 'smtp', 'set', '--from', 'a@b.c'], { env });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /required option '--host <host>'/);

  // The broker refuses to disable its last admin: exit 1 with its reason.
  const last = await rac(['admin', 'users', 'disable', ADMIN_EMAIL], { env });
  t.equal(last.code, 1);
  t.equal(last.stderr, 'rac: This is the last active admin: create or enable another admin first\n');
});

t.test('admin commands as a tech are exit 3', async (t) => {
  const token = await login(broker.api);
  await call(broker.api, 'POST', '/users', { token, body: { email: 'plain@example.com', password: 'plain-password' } });
  const env = await loggedInEnv(broker.url, 'plain@example.com', 'plain-password');
  for (const args of [
    ['admin', 'users', 'list'],
    ['admin', 'smtp', 'show'],
    ['admin', 'users', 'disable', '1'],
  ]) {
    const result = await rac(args, { env });
    t.equal(result.code, 3, args.join(' '));
    t.match(result.stderr, /^rac: Admin access required/);
  }
});

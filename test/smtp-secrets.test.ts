// The SMTP password at rest and in transit through the API; validation of the settings; a mail
// interrupted by a shutdown; --smtp-ca-file checks at start.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Session } from '../src/protocol/broker-api.js';
import { RAC_BIN, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { makeSelfSignedCert, startSilentServer, startTestSmtpServer } from './helpers/smtp-server.js';
import { SMTP_PASSWORD, SMTP_USER, configureSmtp, eventually, sendTestMail } from './helpers/smtp-setup.js';

const cert = makeSelfSignedCert();

t.test('the SMTP password is sealed at rest, never returned or logged, and still works after a restart', async (t) => {
  // A plain server that requires a login: the broker must decrypt the password to pass this.
  const smtp = await startTestSmtpServer({ cert, tls: 'plain', auth: { user: SMTP_USER, pass: SMTP_PASSWORD } });
  t.teardown(() => smtp.close());
  const broker = await startBrokerProcess();
  let running = broker;
  t.teardown(() => running.stop());
  const admin = await login(broker.api);
  await configureSmtp(broker.api, admin, {
    smtp_port: smtp.port,
    security_type: 'NONE',
    username: SMTP_USER,
    password: SMTP_PASSWORD,
    require_auth: true,
  });

  const shown = await call(broker.api, 'GET', '/smtp/config', { token: admin });
  t.equal(shown.status, 200);
  t.equal(shown.body.username, SMTP_USER);
  t.notOk('password' in shown.body, 'GET /smtp/config has no password field');
  t.notMatch(JSON.stringify(shown.body), SMTP_PASSWORD);
  t.equal((await sendTestMail(broker.api, admin)).status, 200);
  t.same(smtp.logins.at(-1), { user: SMTP_USER, accepted: true });

  // While running (the row may still be in the WAL) and after a clean stop (checkpointed).
  const files = () => ['rac.db', 'rac.db-wal', 'rac.db-shm'].map((f) => join(broker.dataDir, f)).filter((f) => existsSync(f));
  const assertNotReadable = (when: string) => {
    const checked = files();
    t.ok(
      checked.some((f) => f.endsWith('rac.db')),
      `${when}: the database file exists`,
    );
    for (const file of checked) {
      const bytes = readFileSync(file);
      t.equal(bytes.indexOf(Buffer.from(SMTP_PASSWORD, 'utf8')), -1, `${when}: not in ${file} (UTF-8)`);
      t.equal(bytes.indexOf(Buffer.from(SMTP_PASSWORD, 'utf16le')), -1, `${when}: not in ${file} (UTF-16)`);
      t.equal(bytes.indexOf(Buffer.from(Buffer.from(SMTP_PASSWORD).toString('base64'))), -1, `${when}: not in ${file} (base64)`);
    }
  };
  t.ok(existsSync(join(broker.dataDir, 'rac.db-wal')), 'the WAL file is there to check');
  assertNotReadable('running');
  t.equal(await broker.stop(), 0);
  assertNotReadable('stopped');

  const db = new Database(join(broker.dataDir, 'rac.db'), { readonly: true });
  const stored = db.prepare('SELECT password FROM smtp_config').get() as { password: string };
  db.close();
  t.match(stored.password, /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/, 'AES-GCM sealed (v1:iv:tag:ciphertext)');
  t.equal(statSync(join(broker.dataDir, 'smtp-secret.key')).mode & 0o777, 0o600, 'the key file is 0600');
  t.equal(statSync(join(broker.dataDir, 'rac.db')).mode & 0o777, 0o600, 'the database file is 0600');

  running = await startBrokerProcess({ dataDir: broker.dataDir });
  const again = await login(running.api);
  t.equal((await sendTestMail(running.api, again)).status, 200, 'the sealed password opens after a restart');
  t.same(smtp.logins.at(-1), { user: SMTP_USER, accepted: true });

  // Changing other fields without a password keeps the stored one.
  await configureSmtp(running.api, again, { smtp_port: smtp.port, security_type: 'NONE', username: SMTP_USER, require_auth: true });
  t.equal((await sendTestMail(running.api, again)).status, 200, 'the kept password still works');
  for (const log of [broker.stderr(), running.stderr()]) t.notMatch(log, SMTP_PASSWORD, 'never in the broker output');
});

t.test('SMTP settings validation: 400 naming the field', async (t) => {
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const admin = await login(broker.api);
  // Before any configuration: a mailed code fails cleanly, the session is made all the same.
  const early = await call<Session>(broker.api, 'POST', '/sessions', { token: admin, body: { customer_email: 'early@customer.test' } });
  t.equal(early.status, 200);
  const earlyAfter = await eventually(async () => {
    const list = await call<Session[]>(broker.api, 'GET', '/sessions', { token: admin });
    const found = list.body.find((s) => s.id === early.body.id);
    return found?.email_status === 'sending' ? undefined : found;
  }, 'the unconfigured mail');
  t.match(earlyAfter, { email_status: 'failed', email_error: /^SMTP is not configured/ });

  const good = { smtp_host: 'smtp.example.test', smtp_port: 587, security_type: 'TLS', from_email: 'noreply@example.test' };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...good, smtp_port: 0 }, /^smtp_port: /],
    [{ ...good, smtp_port: 65536 }, /^smtp_port: /],
    [{ ...good, smtp_port: '587' }, /^smtp_port: must be integer/],
    [{ ...good, smtp_port: 58.7 }, /^smtp_port: must be integer/],
    [{ ...good, security_type: 'STARTTLS' }, /^security_type: must be one of TLS, SSL, NONE/],
    [{ ...good, from_email: 'not-an-email' }, /^from_email: must be a valid email address/],
    [{ ...good, smtp_host: '' }, /^smtp_host: /],
    [{ ...good, smtp_host: 'smtp example' }, /^smtp_host: /],
    [{ ...good, require_auth: 'yes' }, /^require_auth: must be boolean/],
    [{ ...good, require_auth: true }, /^username: required/],
    [{ ...good, require_auth: true, username: 'u@example.test' }, /^password: required/],
    [{ smtp_port: 587, security_type: 'TLS', from_email: 'a@example.test' }, /^smtp_host: field required/],
  ];
  for (const [body, detail] of cases) {
    const res = await call(broker.api, 'POST', '/smtp/config', { token: admin, body });
    t.equal(res.status, 400, JSON.stringify(body));
    t.match(res.body.detail, detail, JSON.stringify(body));
  }
  const saved = await call(broker.api, 'POST', '/smtp/config', { token: admin, body: { ...good, smtp_port: 65535 } });
  t.equal(saved.status, 200, 'port 65535 is fine');
  const badSession = await call(broker.api, 'POST', '/sessions', { token: admin, body: { customer_email: 'nope' } });
  t.equal(badSession.status, 400);
  t.match(badSession.body.detail, /^customer_email: /);
});

t.test('a shutdown while a mail is on its way: the broker stops promptly and the session says failed', async (t) => {
  const silent = await startSilentServer();
  t.teardown(() => silent.close());
  // A server that never answers and a long timeout: only the shutdown can end this send.
  const broker = await startBrokerProcess({ args: ['--smtp-timeout', '10m'] });
  let running = broker;
  t.teardown(() => running.stop());
  const admin = await login(broker.api);
  await configureSmtp(broker.api, admin, { smtp_port: silent.port, security_type: 'TLS' });
  const created = await call<Session>(broker.api, 'POST', '/sessions', { token: admin, body: { customer_email: 'late@customer.test' } });
  t.equal(created.status, 200);
  t.equal(created.body.email_status, 'sending');
  t.equal(await broker.stop(), 0, 'rac serve exits cleanly instead of waiting for the mail server');

  running = await startBrokerProcess({ dataDir: broker.dataDir });
  const token = await login(running.api);
  const session = await eventually(async () => {
    const list = await call<Session[]>(running.api, 'GET', '/sessions', { token });
    return list.body.find((s) => s.id === created.body.id);
  }, 'the session');
  t.match(session, { email_status: 'failed', email_error: 'the broker stopped before the mail was sent' });
});

t.test('rac serve --smtp-ca-file refuses a missing or non-PEM file (exit 2)', async (t) => {
  const notPem = join(cert.dir, 'not-a-cert.txt');
  writeFileSync(notPem, 'hello\n');
  for (const [file, message] of [
    [join(cert.dir, 'missing.pem'), /--smtp-ca-file: cannot read .*missing\.pem: ENOENT/],
    [notPem, /--smtp-ca-file: .*holds no PEM certificate/],
  ] as const) {
    const result = spawnSync(process.execPath, [RAC_BIN, 'serve', '--port', '0', '--smtp-ca-file', file], { encoding: 'utf8' });
    t.equal(result.status, 2);
    t.match(result.stderr, message);
  }
});

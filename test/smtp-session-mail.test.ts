// POST /api/sessions with a customer_email mails the code after the response; the outcome is on
// the session (email_status, email_error) and in the audit log. Also the welcome mail.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { freePort } from './helpers/ports.js';
import type { Session } from '../src/protocol/broker-api.js';
import type { SqlDatabase } from '../src/broker/sql/sql-database.js';
import { openBrokerDatabase } from './helpers/broker-database.js';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { makeSelfSignedCert, parseMail, startSilentServer, startTestSmtpServer, startTricklingServer } from './helpers/smtp-server.js';
import { SMTP_PASSWORD, SMTP_USER, auditLog, configureSmtp, eventually } from './helpers/smtp-setup.js';

const PUBLIC_URL = 'https://support.example.test';
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const cert = makeSelfSignedCert();
const broker = await startBrokerProcess({
  args: ['--smtp-ca-file', cert.certPath, '--smtp-timeout', '1s', '--public-url', PUBLIC_URL],
});
t.teardown(() => broker.stop());
const admin = await login(broker.api);
const smtp = await startTestSmtpServer({ cert, tls: 'starttls', auth: { user: SMTP_USER, pass: SMTP_PASSWORD } });
t.teardown(() => smtp.close());
const useGoodServer = () =>
  configureSmtp(broker.api, admin, {
    smtp_port: smtp.port,
    security_type: 'TLS',
    username: SMTP_USER,
    password: SMTP_PASSWORD,
    require_auth: true,
  });

// A tech with a name that needs escaping in HTML.
const TECH = { email: 'jane.tech@example.test', password: 'jane-password-1', full_name: 'Jane <Tech> & "Co"' };
const techCreated = await call(broker.api, 'POST', '/users', { token: admin, body: { ...TECH, role: 'tech' } });
if (techCreated.status !== 200) throw new Error(`creating the tech failed: ${JSON.stringify(techCreated.body)}`);
const tech = await login(broker.api, TECH.email, TECH.password);

/** A trigger that makes every UPDATE of a session's email_status fail, in the broker's engine. */
const refuseMailUpdates = (engine: SqlDatabase['engine']): string[] =>
  engine === 'sqlite'
    ? [`CREATE TRIGGER refuse_mail_updates BEFORE UPDATE OF email_status ON sessions BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`]
    : [
        `CREATE FUNCTION refuse_mail_updates() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
        'CREATE TRIGGER refuse_mail_updates BEFORE UPDATE OF email_status ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_mail_updates()',
      ];

const createSession = (body: unknown) => call<Session>(broker.api, 'POST', '/sessions', { token: tech, body });
const sessionById = async (id: number) => {
  const list = await call<Session[]>(broker.api, 'GET', '/sessions', { token: tech });
  return list.body.find((s) => s.id === id)!;
};
const settled = (id: number) =>
  eventually(async () => {
    const s = await sessionById(id);
    return s.email_status === 'sending' ? undefined : s;
  }, `the mail of session ${id}`);

t.test('the customer gets the code, the exact agent command and who is asking', async (t) => {
  await useGoodServer();
  const next = smtp.nextMessage();
  const res = await createSession({ customer_name: 'Bob <Customer>', customer_email: 'bob@customer.test' });
  t.equal(res.status, 200);
  t.equal(res.body.email_status, 'sending', 'the response does not wait for the mail');
  t.equal(res.body.email_error, null);
  const code: string = res.body.session_code;
  t.match(code, /^\d{9}$/);

  const mail = await next;
  t.same(mail.to, ['bob@customer.test']);
  t.equal(mail.secure, true);
  t.equal(mail.helo, 'support.example.test', 'greets with the public host name');
  const parts = parseMail(mail.raw);
  const command = `npx --yes ${PUBLIC_URL}/download/rac-${VERSION}.tgz agent --code ${code} --server ${PUBLIC_URL}`;
  t.match(parts.headers.subject, code);
  t.match(parts.headers['reply-to'], TECH.email, 'a reply goes to the tech');
  t.ok(parts.text.includes(command), 'plain text has the exact command');
  t.ok(parts.text.includes(`Jane <Tech> & "Co" (${TECH.email})`), 'plain text says who is asking');
  t.ok(parts.text.includes('Hello Bob <Customer>,'));
  t.ok(parts.html.includes(command), 'HTML has the exact command');
  t.ok(parts.html.includes('Jane &lt;Tech&gt; &amp; &quot;Co&quot;'), 'names are escaped in HTML');
  t.ok(parts.html.includes('Hello Bob &lt;Customer&gt;,'));
  t.notOk(parts.html.includes('<Tech>'), 'no raw markup from a name');

  const after = await settled(res.body.id);
  t.equal(after.email_status, 'sent');
  t.equal(after.email_error, null);
  const audit = auditLog(broker.dataDir, 'email.session_code').find((row) => row.target_id === String(res.body.id));
  t.same(audit?.detail, { to: 'bob@customer.test', status: 'sent', error: null });
  t.equal(audit?.actor_email, TECH.email);
});

t.test('no customer_email: no mail, email_status null', async (t) => {
  const before = smtp.messages.length;
  const res = await createSession({ customer_name: 'No Mail', customer_email: '' });
  t.equal(res.status, 200);
  t.equal(res.body.email_status, null);
  const none = await createSession({});
  t.equal(none.body.email_status, null);
  t.equal((await sessionById(res.body.id)).email_status, null);
  t.equal(smtp.messages.length, before);
});

t.test('a refused login: session created, email_status failed with the server reply', async (t) => {
  await configureSmtp(broker.api, admin, {
    smtp_port: smtp.port,
    security_type: 'TLS',
    username: SMTP_USER,
    password: 'not-the-password',
    require_auth: true,
  });
  const res = await createSession({ customer_email: 'carol@customer.test' });
  t.equal(res.status, 200);
  const after = await settled(res.body.id);
  t.equal(after.email_status, 'failed');
  t.match(after.email_error, /535.*Authentication credentials invalid/);
  t.equal((await call(broker.api, 'GET', `/sessions/${res.body.session_code}/info`)).status, 200, 'the session works');
});

t.test('a dead server (nobody listening) fails the mail, not the session', async (t) => {
  await configureSmtp(broker.api, admin, { smtp_port: await freePort(), security_type: 'NONE' });
  const res = await createSession({ customer_email: 'dave@customer.test' });
  t.equal(res.status, 200);
  t.equal(res.body.email_status, 'sending');
  const after = await settled(res.body.id);
  t.equal(after.email_status, 'failed');
  t.match(after.email_error, /ECONNREFUSED/);
  const audit = auditLog(broker.dataDir, 'email.session_code').find((row) => row.target_id === String(res.body.id));
  t.equal(audit?.detail?.status, 'failed');
});

t.test('a database error while recording the mail fails neither the creation nor its answer', async (t) => {
  await configureSmtp(broker.api, admin, { smtp_port: await freePort(), security_type: 'NONE' });
  // The database refuses every change of a session's mail state from here on.
  const db = await openBrokerDatabase(broker);
  for (const sql of refuseMailUpdates(db.engine)) await db.run(sql);
  t.teardown(async () => {
    await db.run(db.engine === 'sqlite' ? 'DROP TRIGGER refuse_mail_updates' : 'DROP TRIGGER refuse_mail_updates ON sessions');
    await db.close();
  });
  const before = (await call<Session[]>(broker.api, 'GET', '/sessions', { token: tech })).body.length;

  const res = await createSession({ customer_email: 'fay@customer.test' });
  t.equal(res.status, 200, 'the created session is answered, not a 500 a script would retry');
  t.equal(res.body.email_status, 'sending');
  await eventually(() => (broker.stderr().includes('mail bookkeeping failed') ? true : undefined), 'the logged database error');
  t.equal((await call<Session[]>(broker.api, 'GET', '/sessions', { token: tech })).body.length, before + 1, 'one session was made');
});

t.test('a server that never answers fails the mail after --smtp-timeout, not the session', async (t) => {
  const silent = await startSilentServer();
  t.teardown(() => silent.close());
  await configureSmtp(broker.api, admin, { smtp_port: silent.port, security_type: 'TLS' });
  const res = await createSession({ customer_email: 'erin@customer.test' });
  t.equal(res.status, 200);
  t.equal(res.body.email_status, 'sending');
  const after = await settled(res.body.id);
  t.equal(after.email_status, 'failed');
  t.match(after.email_error, /greeting|timeout/i);

  // The admin's test against the same server answers 502 instead of hanging.
  const test = await call(broker.api, 'POST', '/smtp/test', { token: admin, body: { to: 'x@example.test' } });
  t.equal(test.status, 502);
  t.match(test.body.detail, /greeting|timeout/i);
});

t.test('a server that keeps talking but never finishes cannot hold a send forever', async (t) => {
  const trickle = await startTricklingServer();
  t.teardown(() => trickle.close());
  await configureSmtp(broker.api, admin, { smtp_port: trickle.port, security_type: 'NONE' });
  const test = await call(broker.api, 'POST', '/smtp/test', { token: admin, body: { to: 'x@example.test' } });
  t.equal(test.status, 502);
  t.match(test.body.detail, /did not finish within 4 s/);
});

t.test('welcome mail: broker URL and how to log in, never the password', async (t) => {
  await useGoodServer();
  const next = smtp.nextMessage();
  const password = 'Welcome-Pa55-should-stay-secret';
  const res = await call(broker.api, 'POST', '/users', {
    token: admin,
    body: { email: 'new.tech@example.test', password, full_name: 'New Tech', send_welcome: true },
  });
  t.equal(res.status, 200);
  t.notOk('send_welcome' in res.body);
  const mail = await next;
  t.same(mail.to, ['new.tech@example.test']);
  t.notOk(mail.raw.includes(password), 'the raw message has no password');
  const parts = parseMail(mail.raw);
  t.notOk(parts.text.includes(password) || parts.html.includes(password));
  t.ok(
    parts.text.includes(`npx --yes ${PUBLIC_URL}/download/rac-${VERSION}.tgz login --server ${PUBLIC_URL} --email new.tech@example.test`),
  );
  t.ok(parts.html.includes(PUBLIC_URL));
  await eventually(
    () => auditLog(broker.dataDir, 'email.welcome').find((row) => row.target_id === String(res.body.id)),
    'the welcome audit entry',
  ).then((row) => t.same(row.detail, { to: 'new.tech@example.test', status: 'sent', error: null }));
  t.notOk(JSON.stringify(auditLog(broker.dataDir)).includes(password), 'nor the audit log');

  const quiet = await call(broker.api, 'POST', '/users', {
    token: admin,
    body: { email: 'quiet@example.test', password: 'quiet-password-1' },
  });
  t.equal(quiet.status, 200);
  const badFlag = await call(broker.api, 'POST', '/users', {
    token: admin,
    body: { email: 'flag@example.test', password: 'flag-password-1', send_welcome: 'yes' },
  });
  t.equal(badFlag.status, 400);
  t.match(badFlag.body.detail, /^send_welcome: must be boolean/);
});

t.test('GET /api/sessions shows email_status for every session', async (t) => {
  const list = await call<Session[]>(broker.api, 'GET', '/sessions', { token: admin });
  t.equal(list.status, 200);
  for (const session of list.body) {
    t.ok('email_status' in session && 'email_error' in session, `session ${session.id}`);
  }
});

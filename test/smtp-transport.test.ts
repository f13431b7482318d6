// The three security types, login, and certificate checks against a real SMTP server with a
// self-signed certificate, through POST /api/smtp/test on real `rac serve` processes.
import t from 'tap';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { makeSelfSignedCert, startTestSmtpServer } from './helpers/smtp-server.js';
import { SMTP_PASSWORD, SMTP_USER, auditLog, configureSmtp, sendTestMail } from './helpers/smtp-setup.js';

const cert = makeSelfSignedCert();
const auth = { user: SMTP_USER, pass: SMTP_PASSWORD };
const login465 = { username: SMTP_USER, password: SMTP_PASSWORD, require_auth: true };

// One broker trusts the test certificate (--smtp-ca-file), the other only the public roots.
const [trusting, plainBroker] = await Promise.all([
  startBrokerProcess({ args: ['--smtp-ca-file', cert.certPath, '--smtp-timeout', '5s'] }),
  startBrokerProcess({ args: ['--smtp-timeout', '5s'] }),
]);
t.teardown(() => Promise.all([trusting.stop(), plainBroker.stop()]));
const [trustingToken, plainToken] = await Promise.all([login(trusting.api), login(plainBroker.api)]);

const [starttls, implicit, plain, starttlsOpen] = await Promise.all([
  startTestSmtpServer({ cert, tls: 'starttls', auth }),
  startTestSmtpServer({ cert, tls: 'implicit', auth }),
  startTestSmtpServer({ cert, tls: 'plain' }),
  startTestSmtpServer({ cert, tls: 'starttls' }),
]);
t.teardown(() => Promise.all([starttls.close(), implicit.close(), plain.close(), starttlsOpen.close()]));

t.test('TLS = STARTTLS: logs in over the upgraded connection when the CA is trusted', async (t) => {
  await configureSmtp(trusting.api, trustingToken, { smtp_port: starttls.port, security_type: 'TLS', ...login465 });
  const res = await sendTestMail(trusting.api, trustingToken, 'first@example.test');
  t.equal(res.status, 200, JSON.stringify(res.body));
  t.match(res.body.message, /first@example\.test/);
  const mail = starttls.messages.at(-1)!;
  t.ok(mail, 'the server received the message');
  t.equal(mail.secure, true, 'sent after STARTTLS');
  t.equal(mail.user, SMTP_USER, 'logged in');
  t.same(mail.to, ['first@example.test']);
  t.equal(mail.from, 'support@example.test');
  t.match(mail.raw, /rac: SMTP test message/);
});

t.test('TLS = STARTTLS: a self-signed certificate is refused without the CA file', async (t) => {
  const before = starttls.messages.length;
  await configureSmtp(plainBroker.api, plainToken, { smtp_port: starttls.port, security_type: 'TLS', ...login465 });
  const res = await sendTestMail(plainBroker.api, plainToken);
  t.equal(res.status, 502);
  t.match(res.body.detail, /self[- ]signed certificate/i, 'says why');
  t.match(res.body.detail, /--smtp-ca-file/, 'and what to do');
  t.equal(starttls.messages.length, before, 'nothing delivered');
  t.equal(starttls.logins.length, 1, 'the password never reached the untrusted server');
});

t.test('TLS = STARTTLS required: a server without STARTTLS is refused, not used in plain text', async (t) => {
  await configureSmtp(trusting.api, trustingToken, { smtp_port: plain.port, security_type: 'TLS' });
  const before = plain.messages.length;
  const res = await sendTestMail(trusting.api, trustingToken);
  t.equal(res.status, 502);
  t.match(res.body.detail, /STARTTLS/);
  t.equal(plain.messages.length, before);
});

t.test('SSL = implicit TLS: delivered when the CA is trusted, refused without it', async (t) => {
  await configureSmtp(trusting.api, trustingToken, { smtp_port: implicit.port, security_type: 'SSL', ...login465 });
  const ok = await sendTestMail(trusting.api, trustingToken);
  t.equal(ok.status, 200, JSON.stringify(ok.body));
  t.equal(implicit.messages.length, 1);
  t.equal(implicit.messages[0]!.secure, true);
  t.equal(implicit.messages[0]!.user, SMTP_USER);

  await configureSmtp(plainBroker.api, plainToken, { smtp_port: implicit.port, security_type: 'SSL', ...login465 });
  const refused = await sendTestMail(plainBroker.api, plainToken);
  t.equal(refused.status, 502);
  t.match(refused.body.detail, /self[- ]signed certificate/i);
  t.equal(implicit.messages.length, 1, 'nothing more delivered');
});

t.test('SSL against a STARTTLS port: a readable TLS error with a hint, not an OpenSSL dump', async (t) => {
  await configureSmtp(trusting.api, trustingToken, { smtp_port: starttls.port, security_type: 'SSL', ...login465 });
  const res = await sendTestMail(trusting.api, trustingToken);
  t.equal(res.status, 502);
  t.match(res.body.detail, /^TLS handshake failed: wrong version number \(.*security_type TLS/);
});

t.test('NONE = plain SMTP to a server without TLS', async (t) => {
  await configureSmtp(plainBroker.api, plainToken, { smtp_port: plain.port, security_type: 'NONE' });
  const res = await sendTestMail(plainBroker.api, plainToken);
  t.equal(res.status, 200, JSON.stringify(res.body));
  const mail = plain.messages.at(-1)!;
  t.equal(mail.secure, false);
  t.equal(mail.user, null);
});

t.test('NONE still encrypts when the server offers STARTTLS (opportunistic, certificate not required)', async (t) => {
  await configureSmtp(plainBroker.api, plainToken, { smtp_port: starttlsOpen.port, security_type: 'NONE' });
  const res = await sendTestMail(plainBroker.api, plainToken);
  t.equal(res.status, 200, JSON.stringify(res.body));
  t.equal(starttlsOpen.messages.at(-1)!.secure, true);
});

t.test('a refused login answers 502 with the server reply, and never echoes the password', async (t) => {
  await configureSmtp(trusting.api, trustingToken, {
    smtp_port: starttls.port,
    security_type: 'TLS',
    username: SMTP_USER,
    password: 'wrong-password-123',
    require_auth: true,
  });
  const before = starttls.messages.length;
  const res = await sendTestMail(trusting.api, trustingToken);
  t.equal(res.status, 502);
  t.equal(res.headers.get('x-rac-error'), 'RAC_SMTP_FAILED');
  t.match(res.body.detail, /535/);
  t.match(res.body.detail, /Authentication credentials invalid \(test server\)/, "the server's own text");
  t.notMatch(JSON.stringify(res.body), /wrong-password-123/);
  t.same(starttls.logins.at(-1), { user: SMTP_USER, accepted: false });
  t.equal(starttls.messages.length, before);

  const failures = auditLog(trusting.dataDir, 'email.test').filter((row) => row.detail?.status === 'failed');
  t.ok(
    failures.some((row) => /535/.test(String(row.detail?.error))),
    'the failure is in the audit log',
  );
  t.notMatch(trusting.stderr(), /wrong-password-123/);
});

t.test('POST /api/smtp/test input and roles', async (t) => {
  const fresh = await startBrokerProcess();
  t.teardown(() => fresh.stop());
  const admin = await login(fresh.api);
  const notConfigured = await sendTestMail(fresh.api, admin);
  t.equal(notConfigured.status, 400);
  t.match(notConfigured.body.detail, /not configured/);

  await configureSmtp(fresh.api, admin, { smtp_port: plain.port, security_type: 'NONE' });
  const badTo = await call(fresh.api, 'POST', '/smtp/test', { token: admin, body: { to: 'not an address' } });
  t.equal(badTo.status, 400);
  t.match(badTo.body.detail, /^to: /);
  const noTo = await call(fresh.api, 'POST', '/smtp/test', { token: admin, body: {} });
  t.equal(noTo.status, 400);
  t.match(noTo.body.detail, /^to: field required/);

  const created = await call(fresh.api, 'POST', '/users', {
    token: admin,
    body: { email: 'tech@example.test', password: 'tech-password-1', role: 'tech' },
  });
  t.equal(created.status, 200);
  const tech = await login(fresh.api, 'tech@example.test', 'tech-password-1');
  t.equal((await sendTestMail(fresh.api, tech)).status, 403);
  t.equal((await call(fresh.api, 'POST', '/smtp/test', { body: { to: 'a@example.test' } })).status, 401);
});

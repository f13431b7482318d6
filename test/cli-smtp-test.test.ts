// rac admin smtp set + test end to end: a real SMTP server with TLS (STARTTLS, self-signed
// certificate trusted through --smtp-ca-file), POST /api/smtp/test behind `rac admin smtp test`.
// Needs the broker's mailer (branch smtp) and its test helpers.
import t from 'tap';
import { startBrokerProcess } from './helpers/broker-process.js';
import { loggedInEnv, rac } from './helpers/cli.js';
import { makeSelfSignedCert, startTestSmtpServer } from './helpers/smtp-server.js';

const SMTP_USER = 'mailer@example.test';
const SMTP_PASSWORD = 'cli-smtp-Pa55word-never-shown';

const cert = makeSelfSignedCert();
const [broker, smtp] = await Promise.all([
  startBrokerProcess({ args: ['--smtp-ca-file', cert.certPath, '--smtp-timeout', '5s'] }),
  startTestSmtpServer({ cert, tls: 'starttls', auth: { user: SMTP_USER, pass: SMTP_PASSWORD } }),
]);
t.teardown(() => Promise.all([broker.stop(), smtp.close()]));
const admin = await loggedInEnv(broker.url);

const setArgs = (port: number) => [
  'admin',
  'smtp',
  'set',
  '--host',
  '127.0.0.1',
  '--port',
  String(port),
  '--security',
  'TLS',
  '--from',
  'support@example.test',
  '--username',
  SMTP_USER,
  '--password-stdin',
];

t.test('smtp test before any settings: exit 1 with the broker detail', async (t) => {
  const result = await rac(['admin', 'smtp', 'test', '--to', 'me@example.test'], { env: admin });
  t.equal(result.code, 1);
  t.match(result.stderr, /^rac: SMTP is not configured/);
});

t.test('smtp set (password from stdin) then smtp test delivers a mail over STARTTLS with login', async (t) => {
  const set = await rac(setArgs(smtp.port), { env: admin, stdin: `${SMTP_PASSWORD}\n` });
  t.equal(set.code, 0, set.stderr);
  const result = await rac(['admin', 'smtp', 'test', '--to', 'me@example.test', '--json'], { env: admin });
  t.equal(result.code, 0, result.stderr);
  t.same(JSON.parse(result.stdout), { message: 'Test email sent to me@example.test' });
  const mail = smtp.messages.at(-1)!;
  t.same(mail.to, ['me@example.test']);
  t.equal(mail.secure, true, 'over TLS');
  t.equal(mail.user, SMTP_USER, 'logged in with the password read from stdin');

  const human = await rac(['admin', 'smtp', 'test', '--to', 'other@example.test'], { env: admin });
  t.equal(human.code, 0);
  t.equal(human.stdout, '');
  t.equal(human.stderr, 'Test email sent to other@example.test\n');
});

t.test('session create --customer-email mails the code; list shows the mail status', async (t) => {
  const before = smtp.messages.length;
  const created = await rac(['session', 'create', '--customer-name', 'Mailed', '--customer-email', 'customer@example.test'], {
    env: admin,
  });
  t.equal(created.code, 0, created.stderr);
  const code = /^code:\s+(\d{9})$/m.exec(created.stdout)![1]!;
  t.match(created.stderr, 'Mailing the code to customer@example.test');
  const mail = await smtp.nextMessage(before);
  t.same(mail.to, ['customer@example.test']);
  t.match(mail.raw, code, 'the mail carries the code');
  let status: string | null = null;
  for (let i = 0; i < 600 && status !== 'sent'; i++) {
    const list = JSON.parse((await rac(['session', 'list', '--json'], { env: admin })).stdout);
    status = list.find((s: { session_code: string }) => s.session_code === code).email_status;
    if (status !== 'sent') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(status, 'sent');
  const table = await rac(['session', 'list'], { env: admin });
  t.match(table.stdout, new RegExp(`${code}\\s+pending\\s+Mailed\\s+customer@example\\.test\\s+sent\\s`));
});

t.test('a refused SMTP login is exit 1 with the SMTP server reason, never the password', async (t) => {
  const set = await rac(setArgs(smtp.port), { env: admin, stdin: 'not-the-smtp-password\n' });
  t.equal(set.code, 0, set.stderr);
  const result = await rac(['admin', 'smtp', 'test', '--to', 'me@example.test'], { env: admin });
  t.equal(result.code, 1);
  t.match(result.stderr, /^rac: .*Authentication credentials invalid/);
  t.equal(result.stderr.split('\n').length, 2, 'one line');
  t.notMatch(result.stderr, /not-the-smtp-password/);
});

// The pure parts: settings → nodemailer options, error texts, and the mail templates (escaping,
// no header injection), including a property test over arbitrary names.
import fc from 'fast-check';
import { rootCertificates } from 'node:tls';
import t from 'tap';
import { escapeHtml, sessionCodeMail, welcomeMail } from '../src/broker/mail-templates.js';
import { customerCommand } from '../src/protocol/customer-command.js';
import { ehloNameFor, toMailError, transportOptions } from '../src/broker/mailer.js';
import type { SmtpSettingsWithPassword } from '../src/broker/smtp-settings.js';

const settings = (over: Partial<SmtpSettingsWithPassword>): SmtpSettingsWithPassword => ({
  smtp_host: 'smtp.example.test',
  smtp_port: 587,
  security_type: 'TLS',
  username: 'u@example.test',
  password: 'pw',
  from_email: 'noreply@example.test',
  require_auth: true,
  ...over,
});

t.test('security types map to nodemailer options', async (t) => {
  const tls = transportOptions(settings({ security_type: 'TLS' }), { timeoutMs: 1234 });
  t.match(tls, { secure: false, requireTLS: true, host: 'smtp.example.test', port: 587, auth: { user: 'u@example.test', pass: 'pw' } });
  t.match(tls, { connectionTimeout: 1234, greetingTimeout: 1234, socketTimeout: 1234 });
  t.equal(tls.tls?.rejectUnauthorized, undefined, 'certificates verified (the default)');
  t.equal(tls.tls?.ca, undefined, 'bundled roots only without a CA file');

  const ssl = transportOptions(settings({ security_type: 'SSL', smtp_port: 465 }), { extraCa: 'PEM' });
  t.match(ssl, { secure: true, port: 465 });
  t.notOk(ssl.requireTLS);
  t.same(ssl.tls?.ca, [...rootCertificates, 'PEM'], 'a CA file adds to the bundled roots, it does not replace them');

  const none = transportOptions(settings({ security_type: 'NONE', smtp_port: 25, require_auth: false }));
  t.match(none, { secure: false, opportunisticTLS: true, auth: undefined });
  t.notOk(none.requireTLS);
  t.notOk(none.ignoreTLS, 'STARTTLS is used when offered');
  t.equal(none.tls?.rejectUnauthorized, false, 'opportunistic: an unverifiable certificate is still better than plain text');
});

t.test('EHLO name: the public host name when it is a real DNS name', async (t) => {
  t.equal(ehloNameFor('https://support.example.com'), 'support.example.com');
  t.equal(ehloNameFor('https://rac.example.com:8443/base'), 'rac.example.com');
  t.equal(ehloNameFor('http://127.0.0.1:8080'), undefined);
  t.equal(ehloNameFor('http://[::1]:8080'), undefined);
  t.equal(ehloNameFor('http://localhost:8080'), undefined);
  t.equal(ehloNameFor(''), undefined);
});

t.test('error texts keep the server reply and add a hint where it helps', async (t) => {
  const auth = toMailError(Object.assign(new Error('Invalid login'), { code: 'EAUTH', response: '535 5.7.8 Bad credentials' }));
  t.equal(auth.message, 'Invalid login: 535 5.7.8 Bad credentials');
  t.equal(auth.code, 'EAUTH');
  const cert = toMailError(
    Object.assign(new Error('self-signed certificate'), { code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
  );
  t.match(cert.message, /^self-signed certificate \(.*--smtp-ca-file/);
  const host = toMailError(
    Object.assign(new Error("Hostname/IP does not match certificate's altnames: Host: a. is not in the cert's altnames: DNS:b"), {
      code: 'ESOCKET',
      originalCode: 'ERR_TLS_CERT_ALTNAME_INVALID',
    }),
  );
  t.match(host.message, /set smtp_host to the name in the certificate/);
  const greeting = Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' });
  t.match(toMailError(greeting, { smtp_port: 465, security_type: 'TLS' }).message, /use security_type SSL/);
  t.equal(toMailError(greeting, { smtp_port: 587, security_type: 'TLS' }).message, 'Greeting never received');
  t.equal(toMailError(new Error('multi\r\nline')).message, 'multi line', 'one line');
});

t.test('session code mail: code, exact command, who is asking; HTML escaped', async (t) => {
  const mail = sessionCodeMail({
    code: '012345678',
    serverUrl: 'https://rac.example.test',
    version: '1.2.3',
    tech: { full_name: 'Ann <b>Admin</b>', email: 'ann@example.test' },
    customerName: 'Tom & Jerry',
  });
  const command = 'npx --yes https://rac.example.test/download/rac-1.2.3.tgz agent --code 012345678 --server https://rac.example.test';
  t.equal(customerCommand({ code: '012345678', brokerUrl: 'https://rac.example.test/', version: '1.2.3' }), command);
  t.ok(mail.text.includes(command), 'the package comes from the broker, in the version the broker runs');
  t.ok(mail.html.includes(command));
  t.ok(mail.text.includes('https://rac.example.test/join/012345678'), 'and the help page');
  t.ok(mail.text.includes('Ann <b>Admin</b> (ann@example.test)'));
  t.ok(mail.html.includes('Ann &lt;b&gt;Admin&lt;/b&gt; (ann@example.test)'));
  t.ok(mail.html.includes('Hello Tom &amp; Jerry,'));
  t.match(mail.subject, /012345678/);

  const anonymous = sessionCodeMail({
    code: '999999999',
    serverUrl: 'http://x',
    version: '1.2.3',
    tech: { full_name: null, email: 'a@b.test' },
    customerName: null,
  });
  t.equal(anonymous.subject, 'Remote support session: code 999999999');
  t.ok(anonymous.text.startsWith('Hello,\n'));
});

t.test('no name can inject a header line or markup (property)', async (t) => {
  fc.assert(
    fc.property(fc.string(), fc.string(), (techName, customerName) => {
      const mail = sessionCodeMail({
        code: '123456789',
        serverUrl: 'https://rac.example.test',
        version: '1.2.3',
        tech: { full_name: techName, email: 't@example.test' },
        customerName,
      });
      if (/[\r\n]/.test(mail.subject)) return false;
      // Everything between the tags of the HTML is escaped: no "<" from a name survives.
      const withoutOurTags = mail.html.replace(
        /<\/?(!DOCTYPE html|html|head|meta charset="utf-8"|title|body[^>]*|p|br|strong|a[^>]*|pre[^>]*|code)>/g,
        '',
      );
      return !withoutOurTags.includes('<') && !withoutOurTags.includes('>');
    }),
  );
  t.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

t.test('welcome mail says how to log in and nothing about a password value', async (t) => {
  const mail = welcomeMail({
    serverUrl: 'https://rac.example.test',
    version: '1.2.3',
    user: { full_name: 'New <User>', email: 'new@example.test' },
    admin: { full_name: null, email: 'admin@localhost' },
  });
  t.ok(
    mail.text.includes(
      'npx --yes https://rac.example.test/download/rac-1.2.3.tgz login --server https://rac.example.test --email new@example.test',
    ),
  );
  t.ok(mail.html.includes('New &lt;User&gt;'));
  t.match(mail.text, /Your password is not in this mail/);
});

// Sending mail with the stored SMTP settings (nodemailer). One short-lived connection per message:
// settings can change at any time, and the broker sends only a few mails.
//
// What the three security types mean:
// - TLS:  STARTTLS is required (usually port 587). A server that does not offer it, or whose
//         certificate does not verify, fails the send: credentials never travel in clear.
// - SSL:  implicit TLS from the first byte (usually port 465), certificate verified.
// - NONE: no encryption is required (usually port 25, an internal relay). If the server offers
//         STARTTLS it is used anyway, without checking the certificate: that is opportunistic
//         encryption as between mail servers (RFC 7435), never worse than the plain text the admin
//         accepted. If the server does not offer STARTTLS, or refuses it, the mail goes in plain text.
// Certificates are checked against Node's bundled root CAs plus the CA file given with
// `rac serve --smtp-ca-file` (for self-hosted relays with a private CA or a self-signed certificate).
import { rootCertificates } from 'node:tls';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { SmtpSettingsWithPassword } from './smtp-settings.js';
import { DEFAULT_SMTP_TIMEOUT_MS } from './smtp-options.js';

export { DEFAULT_SMTP_TIMEOUT_MS, readCaFile } from './smtp-options.js';

/** A whole send may take this many times the timeout: a server that trickles bytes cannot hold a send forever. */
const WHOLE_SEND_FACTOR = 4;

export interface MailerOptions {
  /** Extra trusted CA certificates (PEM), added to the bundled roots. */
  extraCa?: string;
  /** Limit for connecting, for the greeting, and for each silence of the server afterwards. */
  timeoutMs?: number;
}

export interface OutgoingMail {
  /** The name to greet the server with (EHLO); nodemailer's default when absent. */
  ehloName?: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  replyTo?: string;
}

/** A send that did not work; `message` is what an admin needs to fix it (the server's reply when it gave one). */
export class MailError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'MailError';
  }
}

/**
 * The EHLO name for a broker reached at this URL: its host name when that is a fully qualified DNS
 * name (strict relays reject a bare machine name), else undefined (nodemailer then uses the
 * machine's FQDN or the [127.0.0.1] literal).
 */
export function ehloNameFor(publicUrl: string): string | undefined {
  if (!URL.canParse(publicUrl)) return undefined;
  const host = new URL(publicUrl).hostname;
  return /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(host) ? host : undefined;
}

/** The nodemailer options for the stored settings (exported so the mapping can be checked). */
export function transportOptions(settings: SmtpSettingsWithPassword, options: MailerOptions = {}): SMTPTransport.Options {
  const timeout = options.timeoutMs ?? DEFAULT_SMTP_TIMEOUT_MS;
  const ca = options.extraCa ? [...rootCertificates, options.extraCa] : undefined;
  const base: SMTPTransport.Options = {
    host: settings.smtp_host,
    port: settings.smtp_port,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    dnsTimeout: timeout,
    auth: settings.require_auth && settings.username ? { user: settings.username, pass: settings.password ?? '' } : undefined,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  switch (settings.security_type) {
    case 'SSL':
      return { ...base, secure: true, tls: { ca, minVersion: 'TLSv1.2' } };
    case 'TLS':
      return { ...base, secure: false, requireTLS: true, tls: { ca, minVersion: 'TLSv1.2' } };
    case 'NONE':
      return { ...base, secure: false, opportunisticTLS: true, tls: { rejectUnauthorized: false } };
  }
}

export const MAIL_INTERRUPTED = 'the broker stopped before the mail was sent';

export class Mailer {
  private readonly stopping = new AbortController();

  constructor(private readonly options: MailerOptions = {}) {}

  /** Drops every connection still in progress (shutdown): their sends fail with MAIL_INTERRUPTED. */
  abortAll(): void {
    this.stopping.abort();
  }

  /** Sends one message; resolves when the server accepted it, rejects with a MailError otherwise. */
  async send(settings: SmtpSettingsWithPassword, mail: OutgoingMail): Promise<void> {
    if (this.stopping.signal.aborted) throw new MailError(MAIL_INTERRUPTED, 'EABORT');
    const limitMs = (this.options.timeoutMs ?? DEFAULT_SMTP_TIMEOUT_MS) * WHOLE_SEND_FACTOR;
    const deadline = AbortSignal.timeout(limitMs);
    const transport = nodemailer.createTransport({ ...transportOptions(settings, this.options), name: mail.ehloName });
    try {
      const info = await transport.sendMail({
        from: { name: 'rac remote support', address: settings.from_email },
        to: mail.to,
        replyTo: mail.replyTo,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        signal: AbortSignal.any([this.stopping.signal, deadline]),
      });
      if (info.rejected.length > 0) throw new MailError(`the server refused ${mail.to}: ${info.response}`, 'EENVELOPE');
    } catch (err) {
      if (this.stopping.signal.aborted) throw new MailError(MAIL_INTERRUPTED, 'EABORT');
      if (deadline.aborted) throw new MailError(`the SMTP server did not finish within ${limitMs / 1000} s`, 'ETIMEDOUT');
      throw err instanceof MailError ? err : toMailError(err, settings);
    } finally {
      transport.close();
    }
  }
}

/** nodemailer's error → one line: its message usually quotes the server's reply; add it when it does not. */
export function toMailError(err: unknown, settings?: Pick<SmtpSettingsWithPassword, 'smtp_port' | 'security_type'>): MailError {
  const e = err as { message?: string; response?: string; code?: string; originalCode?: string; timeoutType?: string };
  let message = (e.message ?? String(err)).replace(/\s+/g, ' ').trim();
  const reply = e.response?.replace(/\s+/g, ' ').trim();
  if (reply && !message.includes(reply)) message = `${message}: ${reply}`;
  // OpenSSL's "8080…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:…file:line:"
  message = message.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):.*$/, 'TLS handshake failed: $1');
  const hint =
    e.timeoutType === 'GREETING_TIMEOUT' && settings?.smtp_port === 465 && settings.security_type !== 'SSL'
      ? 'port 465 usually expects TLS from the first byte: use security_type SSL'
      : hintFor(e.originalCode ?? '', message);
  return new MailError((message || 'unknown error') + (hint ? ` (${hint})` : ''), e.code ?? null);
}

const UNTRUSTED_CERT = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** What to change when the error text alone does not say it. */
function hintFor(originalCode: string, message: string): string | null {
  if (UNTRUSTED_CERT.has(originalCode) || /self[- ]signed certificate|unable to (verify|get local issuer)/i.test(message)) {
    return "the server's certificate is not signed by a trusted CA: start rac serve with --smtp-ca-file <its CA in PEM>";
  }
  if (originalCode === 'ERR_TLS_CERT_ALTNAME_INVALID' || /does not match certificate's altnames/i.test(message)) {
    return 'the certificate is for another host name: set smtp_host to the name in the certificate';
  }
  if (/Error upgrading connection with STARTTLS/.test(message)) {
    return 'the server does not offer STARTTLS on this port: check the port, or use security_type SSL with port 465';
  }
  if (/wrong version number|packet length too long|unknown protocol/i.test(message)) {
    return 'this port does not speak implicit TLS: use security_type TLS (STARTTLS, usually port 587), or the SSL port (usually 465)';
  }
  return null;
}

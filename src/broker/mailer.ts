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
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { SmtpSettingsWithPassword } from './smtp-settings.js';

export const DEFAULT_SMTP_TIMEOUT_MS = 15_000;

export interface MailerOptions {
  /** Extra trusted CA certificates (PEM), added to the bundled roots. */
  extraCa?: string;
  /** Limit for connecting, for the greeting, and for each silence of the server afterwards. */
  timeoutMs?: number;
  /** The name this broker introduces itself with (EHLO). */
  clientName?: string;
}

export interface OutgoingMail {
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

/** Reads and checks a PEM CA file for --smtp-ca-file; throws a one-line message when it is not usable. */
export function readCaFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) throw new Error(`${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return text;
}

/** The nodemailer options for the stored settings (exported so the mapping can be checked). */
export function transportOptions(settings: SmtpSettingsWithPassword, options: MailerOptions = {}): SMTPTransport.Options {
  const timeout = options.timeoutMs ?? DEFAULT_SMTP_TIMEOUT_MS;
  const ca = options.extraCa ? [...rootCertificates, options.extraCa] : undefined;
  const base: SMTPTransport.Options = {
    host: settings.smtp_host,
    port: settings.smtp_port,
    name: options.clientName,
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

export class Mailer {
  constructor(private readonly options: MailerOptions = {}) {}

  /** Sends one message; resolves when the server accepted it, rejects with a MailError otherwise. */
  async send(settings: SmtpSettingsWithPassword, mail: OutgoingMail): Promise<void> {
    const transport = nodemailer.createTransport(transportOptions(settings, this.options));
    try {
      const info = await transport.sendMail({
        from: { name: 'rac remote support', address: settings.from_email },
        to: mail.to,
        replyTo: mail.replyTo,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      });
      if (info.rejected.length > 0) throw new MailError(`the server refused ${mail.to}: ${info.response}`, 'EENVELOPE');
    } catch (err) {
      throw err instanceof MailError ? err : toMailError(err);
    } finally {
      transport.close();
    }
  }
}

/** nodemailer's error → one line: its message usually quotes the server's reply; add it when it does not. */
export function toMailError(err: unknown): MailError {
  const e = err as { message?: string; response?: string; code?: string };
  let message = (e.message ?? String(err)).replace(/\s+/g, ' ').trim();
  const reply = e.response?.replace(/\s+/g, ' ').trim();
  if (reply && !message.includes(reply)) message = `${message}: ${reply}`;
  return new MailError(message || 'unknown error', e.code ?? null);
}

// `rac serve --check`'s SMTP line: the settings stored in the database (`rac admin smtp set`),
// tried the way `rac admin smtp test` does (connect, TLS, log in), but without sending a mail.
import nodemailer from 'nodemailer';
import { type MailerOptions, toMailError, transportOptions } from './mailer.js';
import type { CheckResult } from './preflight.js';
import { readSecretIfPresent } from './preflight.js';
import { SecretBox } from './secret-box.js';
import type { SqlDatabase } from './sql/sql-database.js';
import { type SmtpSettingsWithPassword, SmtpSettingsStore } from './smtp-settings.js';

/** `db`: the database the check opened (none when it does not exist yet). */
export async function checkSmtp(dataDir: string, db: SqlDatabase | undefined, options: MailerOptions): Promise<CheckResult> {
  const settings = await storedSettings(dataDir, db);
  if ('line' in settings) return settings;
  const where = `SMTP ${settings.smtp_host}:${settings.smtp_port} (${settings.security_type})`;
  const transport = nodemailer.createTransport(transportOptions(settings, options));
  try {
    await transport.verify();
    const login = settings.require_auth && settings.username ? `, logged in as ${settings.username}` : '';
    return { ok: true, line: `${where}: connected${login}; no mail sent` };
  } catch (err) {
    return { ok: false, line: `${where}: ${toMailError(err, settings).message}: fix the settings with \`rac admin smtp set\`` };
  } finally {
    transport.close();
  }
}

/** The stored settings with their password, or the check's line when there are none to try. */
async function storedSettings(dataDir: string, db: SqlDatabase | undefined): Promise<SmtpSettingsWithPassword | CheckResult> {
  const notConfigured = { ok: true, line: 'SMTP: not configured (no mails; set it with `rac admin smtp set`)' };
  // An empty database (schema version 0) has no smtp_config table yet.
  if (!db || (await db.schemaVersion()) === 0) return notConfigured;
  const key = readSecretIfPresent(dataDir, 'smtp-secret.key');
  const store = new SmtpSettingsStore(db, new SecretBox(key?.length === 32 ? key : Buffer.alloc(32)));
  if (!(await store.get())) return notConfigured;
  try {
    return (await store.getWithPassword())!;
  } catch {
    return {
      ok: false,
      line: 'SMTP: the stored password cannot be decrypted with smtp-secret.key: set it again with `rac admin smtp set`',
    };
  }
}

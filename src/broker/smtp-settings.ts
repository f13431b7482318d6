// The SMTP settings the broker sends mail with. One row; the password is sealed with SecretBox
// and never leaves this module except to the mail transport.
import type { Db } from './database.js';
import { isoNow } from './database.js';
import type { SecretBox } from './secret-box.js';
import type { SecurityType, SmtpSettings } from '../protocol/broker-api.js';

export type { SecurityType, SmtpSettings };

export const SECURITY_TYPES: readonly SecurityType[] = ['TLS', 'SSL', 'NONE'];

export interface SmtpSettingsWithPassword extends SmtpSettings {
  password: string | null;
}

interface Row extends Omit<SmtpSettings, 'require_auth'> {
  password: string | null;
  require_auth: number;
}

export class SmtpSettingsStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** Public view (no password), or null when not configured. */
  async get(): Promise<SmtpSettings | null> {
    const row = await this.row();
    return row ? publicSettings(row) : null;
  }

  /** For the mail transport only. */
  async getWithPassword(): Promise<SmtpSettingsWithPassword | null> {
    const row = await this.row();
    if (!row) return null;
    return { ...publicSettings(row), password: row.password === null ? null : this.box.open(row.password) };
  }

  async hasPassword(): Promise<boolean> {
    return (await this.row())?.password != null;
  }

  /** Saves the settings; a password of undefined keeps the stored one. */
  async save(settings: SmtpSettings, password: string | null | undefined): Promise<void> {
    const sealed = password === undefined ? ((await this.row())?.password ?? null) : password === null ? null : this.box.seal(password);
    await this.db.run(
      `INSERT INTO smtp_config (id, smtp_host, smtp_port, security_type, username, password, from_email, require_auth, updated_at)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port,
         security_type = excluded.security_type, username = excluded.username, password = excluded.password,
         from_email = excluded.from_email, require_auth = excluded.require_auth, updated_at = excluded.updated_at`,
      [
        settings.smtp_host,
        settings.smtp_port,
        settings.security_type,
        settings.username,
        sealed,
        settings.from_email,
        Number(settings.require_auth),
        isoNow(),
      ],
    );
  }

  private row(): Promise<Row | undefined> {
    return this.db.get<Row>('SELECT * FROM smtp_config WHERE id = 1');
  }
}

function publicSettings(row: Row): SmtpSettings {
  return {
    smtp_host: row.smtp_host,
    smtp_port: row.smtp_port,
    security_type: row.security_type,
    username: row.username,
    from_email: row.from_email,
    require_auth: row.require_auth === 1,
  };
}

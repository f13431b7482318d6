// Shared steps of the SMTP tests: configure a broker's SMTP settings and read its audit log.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { type ApiResponse, call } from './broker-process.js';

export const SMTP_USER = 'mailer@example.test';
export const SMTP_PASSWORD = 'Sm7p-secret-Pa55word-do-not-leak';

export interface SmtpConfig {
  smtp_host?: string;
  smtp_port: number;
  security_type: 'TLS' | 'SSL' | 'NONE';
  username?: string | null;
  password?: string | null;
  from_email?: string;
  require_auth?: boolean;
}

export async function configureSmtp(api: string, token: string, config: SmtpConfig): Promise<void> {
  const res = await call(api, 'POST', '/smtp/config', {
    token,
    body: { smtp_host: '127.0.0.1', from_email: 'support@example.test', require_auth: false, ...config },
  });
  if (res.status !== 200) throw new Error(`SMTP config failed: ${res.status} ${JSON.stringify(res.body)}`);
}

export const sendTestMail = (api: string, token: string, to = 'admin@example.test'): Promise<ApiResponse> =>
  call(api, 'POST', '/smtp/test', { token, body: { to } });

export interface AuditRow {
  action: string;
  actor_email: string | null;
  target_type: string | null;
  target_id: string | null;
  detail: Record<string, unknown> | null;
}

/** The broker's audit log, read straight from its database file (read-only, WAL-safe). */
export function auditLog(dataDir: string, action?: string): AuditRow[] {
  const db = new Database(join(dataDir, 'rac.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT action, actor_email, target_type, target_id, detail FROM audit_log ORDER BY id').all() as (Omit<
      AuditRow,
      'detail'
    > & { detail: string | null })[];
    return rows
      .map((row) => ({ ...row, detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null }))
      .filter((row) => !action || row.action === action);
  } finally {
    db.close();
  }
}

/** Polls until `check` returns a value (the broker sends mail in the background). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, limitMs = 30_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

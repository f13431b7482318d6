// Session rows: the SQL behind the session lifecycle in session-manager.ts.
import { randomInt } from 'node:crypto';
import type { Db } from './database.js';
import type { EmailStatus, Session as ApiSession, SessionStatus } from '../protocol/broker-api.js';
import { SESSION_CODE_DIGITS } from '../protocol/session-code.js';
import { isoNow } from './database.js';

export type { EmailStatus, SessionStatus };
export const LIVE_STATUSES: readonly SessionStatus[] = ['pending', 'active', 'disconnected'];

/** A session row: the API's session with every field of ours present. */
export interface Session extends ApiSession {
  updated_at: string;
  closed_at: string | null;
  email_status: EmailStatus | null;
  /** Why the mail failed: the SMTP server's reply, or what went wrong before it answered. */
  email_error: string | null;
  allow_unencrypted_agent: boolean;
}

export interface NewSession {
  tech_user_id: number;
  customer_name: string | null;
  customer_email: string | null;
  udp_port: number;
  allow_unencrypted_agent: boolean;
}

/** SQLite has no booleans: the row's 0/1 becomes the API's false/true. */
type SessionRow = Omit<Session, 'allow_unencrypted_agent'> & { allow_unencrypted_agent: number };
// The agent secret stays in the row: it is never part of a session object that could be returned or logged.
const toSession = ({ agent_secret: _secret, ...row }: SessionRow & { agent_secret?: unknown }): Session => ({
  ...row,
  allow_unencrypted_agent: row.allow_unencrypted_agent === 1,
});

/** Whether the session accepts the unencrypted reference client (its creator asked for it). */
export const allowsUnencryptedAgent = (session: Session): boolean => session.allow_unencrypted_agent === true;

/** A 9-digit code from the CSPRNG; a leading zero is fine. */
export const randomSessionCode = (): string => String(randomInt(0, 10 ** SESSION_CODE_DIGITS)).padStart(SESSION_CODE_DIGITS, '0');

export class SessionStore {
  constructor(private readonly db: Db) {}

  byId(id: number): Session | undefined {
    const row = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    return row && toSession(row);
  }

  /** The live session with this code, else the newest closed one (for 410). */
  byCode(code: string): Session | undefined {
    const row = this.db.prepare(`SELECT * FROM sessions WHERE session_code = ? ORDER BY status = 'closed', id DESC LIMIT 1`).get(code) as
      SessionRow | undefined;
    return row && toSession(row);
  }

  live(): Session[] {
    return (this.db.prepare(`SELECT * FROM sessions WHERE status <> 'closed' ORDER BY id`).all() as SessionRow[]).map(toSession);
  }

  liveCountFor(userId: number): number {
    return (
      this.db.prepare(`SELECT count(*) AS n FROM sessions WHERE tech_user_id = ? AND status <> 'closed'`).get(userId) as { n: number }
    ).n;
  }

  /** How many sessions have each status (for the metrics). */
  countByStatus(): Partial<Record<SessionStatus, number>> {
    const rows = this.db.prepare('SELECT status, count(*) AS n FROM sessions GROUP BY status').all() as {
      status: SessionStatus;
      n: number;
    }[];
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  /** Newest first, at most `limit`; all users' when userId is null. */
  list(userId: number | null, limit = 100): Session[] {
    const rows =
      userId === null
        ? this.db.prepare('SELECT * FROM sessions ORDER BY id DESC LIMIT ?').all(limit)
        : this.db.prepare('SELECT * FROM sessions WHERE tech_user_id = ? ORDER BY id DESC LIMIT ?').all(userId, limit);
    return (rows as SessionRow[]).map(toSession);
  }

  /** Inserts with a fresh code, retrying on the rare clash with a live session's code. */
  insert(input: NewSession, now = Date.now()): Session {
    const insert = this.db.prepare(
      `INSERT INTO sessions (session_code, tech_user_id, customer_name, customer_email, status, udp_port, created_at, updated_at,
                             allow_unencrypted_agent)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
    );
    for (let attempt = 0; ; attempt++) {
      try {
        const at = isoNow(now);
        const result = insert.run(
          randomSessionCode(),
          input.tech_user_id,
          input.customer_name,
          input.customer_email,
          input.udp_port,
          at,
          at,
          Number(input.allow_unencrypted_agent),
        );
        return this.byId(Number(result.lastInsertRowid))!;
      } catch (err) {
        const clash = (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && String(err).includes('session_code');
        if (!clash || attempt >= 20) throw err;
      }
    }
  }

  /** The secret of the session's agent (docs/security.md), or undefined before any agent joined. */
  agentSecret(id: number): string | undefined {
    const row = this.db.prepare('SELECT agent_secret FROM sessions WHERE id = ?').get(id) as { agent_secret: string | null } | undefined;
    return row?.agent_secret ?? undefined;
  }

  setAgentSecret(id: number, secret: string): void {
    this.db.prepare('UPDATE sessions SET agent_secret = ? WHERE id = ?').run(secret, id);
  }

  /** Changes a live session's status (a closed one forgets its agent secret); returns the updated row, or undefined if it was closed already. */
  setStatus(id: number, status: SessionStatus): Session | undefined {
    const at = isoNow();
    const result = this.db
      .prepare(
        `UPDATE sessions SET status = ?, updated_at = ?, closed_at = CASE WHEN ? = 'closed' THEN ? ELSE closed_at END,
           agent_secret = CASE WHEN ? = 'closed' THEN NULL ELSE agent_secret END
         WHERE id = ? AND status <> 'closed'`,
      )
      .run(status, at, status, at, status, id);
    return result.changes === 0 ? undefined : this.byId(id);
  }

  /** Records the mail outcome; does not touch updated_at (that tracks the session's status). */
  setEmailStatus(id: number, status: EmailStatus, error: string | null = null): void {
    this.db.prepare('UPDATE sessions SET email_status = ?, email_error = ? WHERE id = ?').run(status, error, id);
  }

  /** Mails still "sending" when the broker stopped were never sent: say so. Returns how many. */
  failUnfinishedEmails(reason: string): number {
    return this.db.prepare(`UPDATE sessions SET email_status = 'failed', email_error = ? WHERE email_status = 'sending'`).run(reason)
      .changes;
  }

  /** Pending sessions created before the cutoff. */
  pendingCreatedBefore(cutoffIso: string): Session[] {
    return (this.db.prepare(`SELECT * FROM sessions WHERE status = 'pending' AND created_at < ?`).all(cutoffIso) as SessionRow[]).map(
      toSession,
    );
  }
}

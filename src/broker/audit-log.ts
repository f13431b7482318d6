// The audit log: who did what to which session or user, when, and from which address.
import type { AuditEntry as ApiAuditEntry } from '../protocol/broker-api.js';
import type { Db } from './database.js';
import { isoNow } from './database.js';

export interface Actor {
  id: number | null;
  email: string | null;
  address: string | null;
}

export const SYSTEM_ACTOR: Actor = { id: null, email: null, address: null };

/**
 * One event. `action` is "area.verb" (auth.login, user.create, session.viewer_join…); new areas
 * record the same way, e.g. `audit.record(actorOf(request), { action: 'tunnel.open', target_type:
 * 'session', target_id: session.id, detail: { port } })`.
 */
export interface AuditEntry {
  action: string;
  target_type?: 'user' | 'session' | 'smtp' | 'tunnel' | 'file' | null;
  target_id?: string | number | null;
  /** Extra facts (never secrets). */
  detail?: Record<string, unknown>;
}

/** A stored event is what GET /api/audit returns. */
export type AuditRecord = ApiAuditEntry;

export class AuditLog {
  constructor(private readonly db: Db) {}

  async record(actor: Actor, entry: AuditEntry): Promise<void> {
    await this.db.run(
      `INSERT INTO audit_log (at, actor_id, actor_email, address, action, target_type, target_id, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        isoNow(),
        actor.id,
        actor.email,
        actor.address,
        entry.action,
        entry.target_type ?? null,
        entry.target_id == null ? null : String(entry.target_id),
        entry.detail ? JSON.stringify(entry.detail) : null,
      ],
    );
  }

  /**
   * Newest first, filtered: `action` matches itself and, as "session", every "session.*";
   * `user` is the actor's email (case-insensitive); `before`/`after` are record ids (the cursor).
   */
  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (clause: string, ...values: (string | number)[]) => {
      where.push(clause);
      args.push(...values);
    };
    if (filter.since) add('at >= ?', filter.since);
    if (filter.until) add('at < ?', filter.until);
    if (filter.user) add('lower(actor_email) = lower(?)', filter.user);
    if (filter.action) add(`(action = ? OR substr(action, 1, ?) = ?)`, filter.action, filter.action.length + 1, `${filter.action}.`);
    if (filter.before !== undefined) add('id < ?', filter.before);
    if (filter.after !== undefined) add('id > ?', filter.after);
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = await this.db.all<StoredRecord>(sql, [...args, filter.limit]);
    return rows.map(parseRecord);
  }

  /** Newest first. */
  list(limit = 100, beforeId?: number): Promise<AuditRecord[]> {
    return this.query({ limit, before: beforeId });
  }
}

export interface AuditFilter {
  /** ISO 8601 timestamps: at or after `since`, before `until`. */
  since?: string;
  until?: string;
  user?: string;
  action?: string;
  before?: number;
  after?: number;
  limit: number;
}

type StoredRecord = Omit<AuditRecord, 'detail'> & { detail: string | null };

const parseRecord = (row: StoredRecord): AuditRecord => ({
  ...row,
  detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
});

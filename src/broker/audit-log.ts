// The audit log: who did what to which session or user, when, and from which address.
import type { Db } from './database.js';
import { isoNow } from './database.js';

export interface Actor {
  id: number | null;
  email: string | null;
  address: string | null;
}

export const SYSTEM_ACTOR: Actor = { id: null, email: null, address: null };

export interface AuditEntry {
  action: string;
  target_type?: 'user' | 'session' | 'smtp' | null;
  target_id?: string | number | null;
  /** Extra facts (never secrets). */
  detail?: Record<string, unknown>;
}

export interface AuditRecord {
  id: number;
  at: string;
  actor_id: number | null;
  actor_email: string | null;
  address: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  detail: Record<string, unknown> | null;
}

export class AuditLog {
  constructor(private readonly db: Db) {}

  record(actor: Actor, entry: AuditEntry): void {
    this.db
      .prepare(
        `INSERT INTO audit_log (at, actor_id, actor_email, address, action, target_type, target_id, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        isoNow(),
        actor.id,
        actor.email,
        actor.address,
        entry.action,
        entry.target_type ?? null,
        entry.target_id == null ? null : String(entry.target_id),
        entry.detail ? JSON.stringify(entry.detail) : null,
      );
  }

  /** Newest first. */
  list(limit = 100, beforeId?: number): AuditRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?')
      .all(beforeId ?? Number.MAX_SAFE_INTEGER, limit) as (Omit<AuditRecord, 'detail'> & { detail: string | null })[];
    return rows.map((row) => ({ ...row, detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null }));
  }
}

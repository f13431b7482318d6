// Session rows: the SQL behind the session lifecycle in session-manager.ts.
import { randomInt } from 'node:crypto';
import type { Db } from './database.js';
import type { EmailStatus, Session as ApiSession, SessionStatus } from '../protocol/broker-api.js';
import { SESSION_CODE_DIGITS } from '../protocol/session-code.js';
import { isoNow } from './database.js';
import type { SqlExecutor } from './sql/sql-database.js';

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
  /** The `rac serve` node holding the session's UDP port (its relay and WebSockets live there). */
  node_id: string;
}

export interface NewSession {
  tech_user_id: number;
  customer_name: string | null;
  customer_email: string | null;
  udp_port: number;
  allow_unencrypted_agent: boolean;
  node_id: string;
  /** The code mail's state from the start ("sending", or "failed" when it cannot go); null: none asked for. */
  email_status?: EmailStatus | null;
  email_error?: string | null;
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
  constructor(readonly db: Db) {}

  async byId(id: number): Promise<Session | undefined> {
    const row = await this.db.get<SessionRow>('SELECT * FROM sessions WHERE id = ?', [id]);
    return row && toSession(row);
  }

  /** The live session with this code, else the newest closed one (for 410). */
  async byCode(code: string): Promise<Session | undefined> {
    const row = await this.db.get<SessionRow>(
      `SELECT * FROM sessions WHERE session_code = ? ORDER BY CASE WHEN status = 'closed' THEN 1 ELSE 0 END, id DESC LIMIT 1`,
      [code],
    );
    return row && toSession(row);
  }

  /** Every live session, or only those one node holds. */
  async live(nodeId?: string): Promise<Session[]> {
    const rows =
      nodeId === undefined
        ? await this.db.all<SessionRow>(`SELECT * FROM sessions WHERE status <> 'closed' ORDER BY id`)
        : await this.db.all<SessionRow>(`SELECT * FROM sessions WHERE status <> 'closed' AND node_id = ? ORDER BY id`, [nodeId]);
    return rows.map(toSession);
  }

  /** The only node of a database (SQLite) holds every live session, whatever id it ran under before. */
  async adoptLive(nodeId: string): Promise<void> {
    await this.db.run(`UPDATE sessions SET node_id = ? WHERE status <> 'closed' AND node_id <> ?`, [nodeId, nodeId]);
  }

  async liveCountFor(userId: number, db: SqlExecutor = this.db): Promise<number> {
    return (await db.get<{ n: number }>(`SELECT count(*) AS n FROM sessions WHERE tech_user_id = ? AND status <> 'closed'`, [userId]))!.n;
  }

  /** How many sessions have each status (for the metrics). */
  async countByStatus(): Promise<Partial<Record<SessionStatus, number>>> {
    const rows = await this.db.all<{ status: SessionStatus; n: number }>('SELECT status, count(*) AS n FROM sessions GROUP BY status');
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  /** Newest first, at most `limit`; all users' when userId is null. */
  async list(userId: number | null, limit = 100): Promise<Session[]> {
    const rows =
      userId === null
        ? await this.db.all<SessionRow>('SELECT * FROM sessions ORDER BY id DESC LIMIT ?', [limit])
        : await this.db.all<SessionRow>('SELECT * FROM sessions WHERE tech_user_id = ? ORDER BY id DESC LIMIT ?', [userId, limit]);
    return rows.map(toSession);
  }

  /**
   * Inserts with a fresh code, drawing again on the rare clash with a live session's code (ON
   * CONFLICT DO NOTHING: a failed INSERT would end a PostgreSQL transaction).
   */
  async insert(input: NewSession, db: SqlExecutor = this.db, now = Date.now()): Promise<Session> {
    const at = isoNow(now);
    for (let attempt = 0; attempt < 20; attempt++) {
      const row = await db.get<SessionRow>(
        `INSERT INTO sessions (session_code, tech_user_id, customer_name, customer_email, status, udp_port, created_at, updated_at,
                               allow_unencrypted_agent, node_id, email_status, email_error)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING RETURNING *`,
        [
          randomSessionCode(),
          input.tech_user_id,
          input.customer_name,
          input.customer_email,
          input.udp_port,
          at,
          at,
          Number(input.allow_unencrypted_agent),
          input.node_id,
          input.email_status ?? null,
          input.email_error ?? null,
        ],
      );
      if (row) return toSession(row);
      const portTaken = await db.get(`SELECT 1 FROM sessions WHERE udp_port = ? AND node_id = ? AND status <> 'closed'`, [
        input.udp_port,
        input.node_id,
      ]);
      if (portTaken) throw new Error(`UDP port ${input.udp_port} is held by another live session`);
    }
    throw new Error('no free session code after 20 draws: too many live sessions');
  }

  /** The secret of the session's agent (docs/security.md), or undefined before any agent joined. */
  async agentSecret(id: number): Promise<string | undefined> {
    const row = await this.db.get<{ agent_secret: string | null }>('SELECT agent_secret FROM sessions WHERE id = ?', [id]);
    return row?.agent_secret ?? undefined;
  }

  async setAgentSecret(id: number, secret: string): Promise<void> {
    await this.db.run('UPDATE sessions SET agent_secret = ? WHERE id = ?', [secret, id]);
  }

  /**
   * Changes a live session's status (a closed one forgets its agent secret); returns the updated
   * row, or undefined when it was closed already, had this status (nothing changed), or is no
   * longer held by node `heldBy` when that is given (it moved to another node meanwhile).
   */
  async setStatus(id: number, status: SessionStatus, heldBy?: string): Promise<Session | undefined> {
    const at = isoNow();
    const row = await this.db.get<SessionRow>(
      `UPDATE sessions SET status = ?, updated_at = ?, closed_at = CASE WHEN ? = 'closed' THEN ? ELSE closed_at END,
         agent_secret = CASE WHEN ? = 'closed' THEN NULL ELSE agent_secret END
       WHERE id = ? AND status NOT IN ('closed', ?) AND node_id = COALESCE(?, node_id) RETURNING *`,
      [status, at, status, at, status, id, status, heldBy ?? null],
    );
    return row && toSession(row);
  }

  /** Records the mail outcome; does not touch updated_at (that tracks the session's status). */
  async setEmailStatus(id: number, status: EmailStatus, error: string | null = null): Promise<void> {
    await this.db.run('UPDATE sessions SET email_status = ?, email_error = ? WHERE id = ?', [status, error, id]);
  }

  /** Mails still "sending" when the broker stopped were never sent: say so. Returns how many. */
  async failUnfinishedEmails(reason: string): Promise<number> {
    return (await this.db.run(`UPDATE sessions SET email_status = 'failed', email_error = ? WHERE email_status = 'sending'`, [reason]))
      .changes;
  }

  /**
   * Moves a session that has `status` from a dead node to another, on a port of the new node, with
   * its agent secret (the agent resumes with it there). Returns the moved row and secret, or
   * undefined when it was no longer that node's session with that status (another node moved it
   * first, an agent joined or came back, it closed) or that node beat after `silentSince` (ms since
   * the epoch; it is back): at most one node takes each session, and never from a live node.
   */
  async moveToNode(
    id: number,
    move: { from: string; to: string; udpPort: number; status: 'pending' | 'disconnected'; silentSince: number },
  ): Promise<{ session: Session; agentSecret: string | undefined } | undefined> {
    const row = await this.db.get<SessionRow & { agent_secret: string | null }>(
      `UPDATE sessions SET node_id = ?, udp_port = ? WHERE id = ? AND node_id = ? AND status = ?
         AND NOT EXISTS (SELECT 1 FROM nodes WHERE id = ? AND heartbeat_at > ?) RETURNING *`,
      [move.to, move.udpPort, id, move.from, move.status, move.from, move.silentSince],
    );
    return row && { session: toSession(row), agentSecret: row.agent_secret ?? undefined };
  }

  /** One node's pending sessions created before the cutoff. */
  async pendingCreatedBefore(cutoffIso: string, nodeId: string): Promise<Session[]> {
    const rows = await this.db.all<SessionRow>(`SELECT * FROM sessions WHERE status = 'pending' AND created_at < ? AND node_id = ?`, [
      cutoffIso,
      nodeId,
    ]);
    return rows.map(toSession);
  }
}

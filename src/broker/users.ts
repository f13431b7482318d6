// Users: the sysadmins and techs who log in to the broker. Emits 'changed' after every update, so
// live connections (the session hub's viewers) can re-check what the user may still do.
import { EventEmitter } from 'node:events';
import type { Db } from './database.js';
import { isoNow } from './database.js';
import { Errors } from './errors.js';
import { type SqlExecutor, isUniqueViolation } from './sql/sql-database.js';
import { hashPassword } from './passwords.js';
import type { NewUser, Role, User, UserChanges } from '../protocol/broker-api.js';

export type { NewUser, Role, User, UserChanges };

export const ROLES: readonly Role[] = ['admin', 'tech'];
export const DEFAULT_MAX_SESSIONS = 10;

interface UserRow {
  id: number;
  email: string;
  full_name: string | null;
  role: Role;
  max_sessions: number;
  is_active: number;
  password_hash: string;
  token_version: number;
  created_at: string;
}

export interface UserWithSecrets extends User {
  password_hash: string;
  token_version: number;
}

const toUser = (row: UserRow): UserWithSecrets => ({
  id: row.id,
  email: row.email,
  full_name: row.full_name,
  role: row.role,
  max_sessions: row.max_sessions,
  is_active: row.is_active === 1,
  created_at: row.created_at,
  password_hash: row.password_hash,
  token_version: row.token_version,
});

/** The public view of a user: what the API returns. */
export const publicUser = ({ password_hash: _h, token_version: _v, ...user }: UserWithSecrets): User => user;

export interface UserStoreEvents {
  changed: [user: UserWithSecrets];
}

export class UserStore extends EventEmitter<UserStoreEvents> {
  constructor(private readonly db: Db) {
    super();
  }

  async count(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM users'))!.n;
  }

  async byId(id: number, db: SqlExecutor = this.db): Promise<UserWithSecrets | undefined> {
    const row = await db.get<UserRow>('SELECT * FROM users WHERE id = ?', [id]);
    return row && toUser(row);
  }

  /** Emails match whatever their case. */
  async byEmail(email: string): Promise<UserWithSecrets | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE lower(email) = lower(?)', [email]);
    return row && toUser(row);
  }

  async list(): Promise<User[]> {
    const rows = await this.db.all<UserRow>('SELECT * FROM users ORDER BY id');
    return rows.map((row) => publicUser(toUser(row)));
  }

  async create(input: NewUser): Promise<UserWithSecrets> {
    const passwordHash = await hashPassword(input.password);
    try {
      const row = await this.db.get<UserRow>(
        `INSERT INTO users (email, full_name, role, max_sessions, password_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
        [input.email, input.full_name ?? null, input.role ?? 'tech', input.max_sessions ?? DEFAULT_MAX_SESSIONS, passwordHash, isoNow()],
      );
      return toUser(row!);
    } catch (err) {
      if (isUniqueViolation(err)) throw Errors.userExists(input.email);
      throw err;
    }
  }

  async update(id: number, changes: UserChanges): Promise<UserWithSecrets> {
    const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password);
    const updated = await this.db.transaction(async (tx) => {
      // Two admins demoting each other at once must not leave no admin: one rule, one at a time.
      await tx.lock('users.admins');
      const user = await this.byId(id, tx);
      if (!user) throw Errors.userNotFound(id);
      const losesAdmin = user.role === 'admin' && user.is_active && (changes.role === 'tech' || changes.is_active === false);
      if (losesAdmin && (await this.activeAdminCount(tx)) <= 1) throw Errors.lastAdmin();

      // Disabling a user or changing their password revokes their tokens.
      const revoke = passwordHash !== undefined || (changes.is_active === false && user.is_active);
      const row = await tx.get<UserRow>(
        `UPDATE users SET
           is_active = coalesce(?, is_active),
           max_sessions = coalesce(?, max_sessions),
           full_name = CASE WHEN ? = 1 THEN ? ELSE full_name END,
           role = coalesce(?, role),
           password_hash = coalesce(?, password_hash),
           token_version = token_version + ?
         WHERE id = ? RETURNING *`,
        [
          changes.is_active === undefined ? null : Number(changes.is_active),
          changes.max_sessions ?? null,
          Number(changes.full_name !== undefined),
          changes.full_name ?? null,
          changes.role ?? null,
          passwordHash ?? null,
          Number(revoke),
          id,
        ],
      );
      return toUser(row!);
    });
    this.emit('changed', updated);
    return updated;
  }

  /**
   * Re-hashes a password with the current parameters after a successful login. Keeps the tokens
   * (the password did not change), and leaves a hash changed meanwhile (a new password) alone.
   */
  async upgradePasswordHash(id: number, oldHash: string, password: string): Promise<void> {
    const newHash = await hashPassword(password);
    await this.db.run('UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?', [newHash, id, oldHash]);
  }

  private async activeAdminCount(tx: SqlExecutor): Promise<number> {
    return (await tx.get<{ n: number }>(`SELECT count(*) AS n FROM users WHERE role = 'admin' AND is_active = 1`))!.n;
  }
}

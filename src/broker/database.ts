// The broker's embedded database: one SQLite file in the data dir, WAL, versioned migrations.
// better-sqlite3 is an optional dependency (a native module that may need a compiler), loaded here
// only, so `rac agent` and the CLI install and run without it.
import type Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

// Append only: each entry moves the schema one version forward (PRAGMA user_version).
const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     id            INTEGER PRIMARY KEY AUTOINCREMENT,
     email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
     full_name     TEXT,
     role          TEXT NOT NULL CHECK (role IN ('admin', 'tech')),
     max_sessions  INTEGER NOT NULL DEFAULT 10,
     is_active     INTEGER NOT NULL DEFAULT 1,
     password_hash TEXT NOT NULL,
     token_version INTEGER NOT NULL DEFAULT 0,
     created_at    TEXT NOT NULL
   );
   CREATE TABLE sessions (
     id             INTEGER PRIMARY KEY AUTOINCREMENT,
     session_code   TEXT NOT NULL,
     tech_user_id   INTEGER NOT NULL REFERENCES users(id),
     customer_name  TEXT,
     customer_email TEXT,
     status         TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disconnected', 'closed')),
     udp_port       INTEGER NOT NULL,
     created_at     TEXT NOT NULL,
     updated_at     TEXT NOT NULL,
     closed_at      TEXT
   );
   -- A code and a port belong to at most one live session.
   CREATE UNIQUE INDEX sessions_live_code ON sessions(session_code) WHERE status <> 'closed';
   CREATE UNIQUE INDEX sessions_live_port ON sessions(udp_port) WHERE status <> 'closed';
   CREATE INDEX sessions_code ON sessions(session_code, id);
   CREATE INDEX sessions_owner ON sessions(tech_user_id, status);
   CREATE TABLE smtp_config (
     id            INTEGER PRIMARY KEY CHECK (id = 1),
     smtp_host     TEXT NOT NULL,
     smtp_port     INTEGER NOT NULL,
     security_type TEXT NOT NULL,
     username      TEXT,
     password      TEXT,
     from_email    TEXT NOT NULL,
     require_auth  INTEGER NOT NULL,
     updated_at    TEXT NOT NULL
   );
   CREATE TABLE throttle (
     scope        TEXT NOT NULL,
     address      TEXT NOT NULL,
     window_start INTEGER NOT NULL,
     misses       INTEGER NOT NULL,
     PRIMARY KEY (scope, address)
   );
   CREATE TABLE audit_log (
     id          INTEGER PRIMARY KEY AUTOINCREMENT,
     at          TEXT NOT NULL,
     actor_id    INTEGER,
     actor_email TEXT,
     address     TEXT,
     action      TEXT NOT NULL,
     target_type TEXT,
     target_id   TEXT,
     detail      TEXT
   );
   CREATE INDEX audit_log_at ON audit_log(at);`,
  // 2: the outcome of mailing the session code to the customer (null: no mail was asked for).
  `ALTER TABLE sessions ADD COLUMN email_status TEXT CHECK (email_status IN ('sending', 'sent', 'failed'));
   ALTER TABLE sessions ADD COLUMN email_error TEXT;`,
  // 3: the session accepts the reference client's unencrypted agent (its creator asked for it).
  `ALTER TABLE sessions ADD COLUMN allow_unencrypted_agent INTEGER NOT NULL DEFAULT 0;`,
  // 4: the secret handed to the session's agent, so a broker restart still knows a resuming agent.
  `ALTER TABLE sessions ADD COLUMN agent_secret TEXT;`,
];

export async function openDatabase(dataDir: string): Promise<Db> {
  const Sqlite = await loadSqlite();
  const file = join(dataDir, 'rac.db');
  const isNew = !existsSync(file);
  const db = new Sqlite(file);
  // The file holds password hashes and SMTP credentials.
  if (isNew) chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

async function loadSqlite(): Promise<typeof Database> {
  try {
    return (await import('better-sqlite3')).default;
  } catch (err) {
    const error = err as NodeJS.ErrnoException;
    const what = error.code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `did not load (${error.message.split('\n')[0]})`;
    throw new Error(
      `better-sqlite3 ${what}, and rac serve keeps its database with it: install it with \`npm install better-sqlite3\` ` +
        '(with python3, make and a C++ compiler when no prebuilt binary fits this platform)',
    );
  }
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`The database schema (version ${current}) is newer than this rac (version ${MIGRATIONS.length}): upgrade rac`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

/** ISO 8601 in UTC, seconds precision: `2026-01-31T10:30:00Z`. */
export function isoNow(now = Date.now()): string {
  return new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

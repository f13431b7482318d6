// `rac serve --database URL --migrate-from sqlite:PATH`: moves a one-machine broker onto
// PostgreSQL. Users, the SMTP settings (their password opened with the old data dir's key and
// sealed again with the cluster's) and the live sessions (now held by this node, same UDP ports)
// are copied in one transaction; a target that already has users is refused, so nothing is merged.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { lockDataDir } from '../data-dir-lock.js';
import { SecretBox } from '../secret-box.js';
import { loadOrCreateSecret } from '../secret-files.js';
import { SQLITE_FILE, openSqlite } from '../sql/sqlite-database.js';
import type { SqlDatabase, SqlExecutor, SqlValue } from '../sql/sql-database.js';

export interface MigrationCounts {
  users: number;
  smtp_settings: number;
  live_sessions: number;
}

type Row = Record<string, SqlValue>;

/** "sqlite:PATH": PATH is the rac.db file or the data dir holding it. Returns the data dir. */
export function sqliteSourceDir(source: string): string {
  const match = /^sqlite:(.+)$/.exec(source);
  if (!match) throw new Error(`--migrate-from expects sqlite:PATH (the old data dir or its ${SQLITE_FILE}), got "${source}"`);
  const path = resolve(match[1]!);
  const dir = existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
  if (basename(path) !== SQLITE_FILE && dir !== path) throw new Error(`--migrate-from: ${path} is not a ${SQLITE_FILE}`);
  if (!existsSync(resolve(dir, SQLITE_FILE))) throw new Error(`--migrate-from: there is no ${SQLITE_FILE} in ${dir}`);
  return dir;
}

/**
 * Copies from the SQLite data dir into `target` (migrated, with its shared SMTP key). The old data
 * dir is locked meanwhile (a broker still running on it must be stopped first) and left as it was,
 * apart from its schema being brought to this release.
 */
export async function migrateFromSqlite(
  sourceDir: string,
  target: SqlDatabase,
  targetSmtpKey: Buffer,
  nodeId: string,
): Promise<MigrationCounts> {
  const lock = lockDataDir(sourceDir);
  try {
    const source = await openSqlite(sourceDir);
    try {
      const oldBox = new SecretBox(loadOrCreateSecret(sourceDir, 'smtp-secret.key'));
      const users = await source.all<Row>('SELECT * FROM users ORDER BY id');
      const smtp = await source.all<Row>('SELECT * FROM smtp_config');
      const sessions = await source.all<Row>("SELECT * FROM sessions WHERE status <> 'closed' ORDER BY id");
      const newBox = new SecretBox(targetSmtpKey);
      const resealed = smtp.map((row) => ({
        ...row,
        password: row.password === null ? null : newBox.seal(oldBox.open(String(row.password))),
      }));
      await target.transaction(async (tx) => {
        await refuseNonEmpty(tx);
        await copyRows(tx, 'users', users);
        await copyRows(tx, 'smtp_config', resealed);
        await copyRows(
          tx,
          'sessions',
          sessions.map((row) => ({ ...row, node_id: nodeId })),
        );
        await advanceIds(tx, ['users', 'sessions']);
      });
      return { users: users.length, smtp_settings: smtp.length, live_sessions: sessions.length };
    } finally {
      await source.close();
    }
  } finally {
    lock.release();
  }
}

async function refuseNonEmpty(tx: SqlExecutor): Promise<void> {
  for (const table of ['users', 'sessions', 'smtp_config']) {
    const row = await tx.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
    if (Number(row?.n) > 0) {
      throw new Error(`the target database already has ${table}: --migrate-from copies into an empty database only (create a new one)`);
    }
  }
}

async function copyRows(tx: SqlExecutor, table: string, rows: Row[]): Promise<void> {
  for (const row of rows) {
    const columns = Object.keys(row);
    const marks = columns.map(() => '?').join(', ');
    await tx.run(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${marks})`,
      columns.map((c) => row[c]!),
    );
  }
}

/** Copied rows kept their ids: PostgreSQL's identity counters must start after them. */
async function advanceIds(tx: SqlExecutor, tables: string[]): Promise<void> {
  if (tx.engine !== 'postgres') return;
  for (const table of tables) {
    await tx.get(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM ${table}), false)`);
  }
}

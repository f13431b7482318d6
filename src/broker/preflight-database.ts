// `rac serve --check`'s database line: which engine, where, and the schema version it holds against
// the one this rac brings. Reads only: a missing SQLite file is not created, nothing is migrated.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult } from './preflight.js';
import { MIGRATIONS } from './sql/migrations.js';
import { SQLITE_FILE } from './sql/sqlite-database.js';
import { CONNECTION_HINT, describeDatabaseUrl } from './sql/open-database.js';
import type { SqlDatabase } from './sql/sql-database.js';

export interface DatabaseCheck {
  result: CheckResult;
  /** Open (read only for SQLite) when the database exists and answered: the SMTP check reads it. */
  db?: SqlDatabase;
}

export async function checkDatabase(dataDir: string, url: string | undefined): Promise<DatabaseCheck> {
  const newest = MIGRATIONS.length;
  let where: string;
  let db: SqlDatabase;
  try {
    if (url) {
      where = `PostgreSQL ${describeDatabaseUrl(url)}`;
      db = (await import('./sql/postgres-database.js')).connectPostgres(url, { maxConnections: 1 });
    } else {
      const file = join(dataDir, SQLITE_FILE);
      where = `SQLite ${file}`;
      if (!existsSync(file))
        return { result: { ok: true, line: `database: ${where}: not there yet; rac serve creates it (schema version ${newest})` } };
      db = await openSqliteReadOnly(file);
    }
  } catch (err) {
    return { result: { ok: false, line: `database: ${(err as Error).message}` } };
  }
  try {
    return { result: versionLine(where, await db.schemaVersion(), newest), db };
  } catch (err) {
    await db.close();
    const fix = url ? CONNECTION_HINT : 'check the file';
    return { result: { ok: false, line: `database: ${where}: ${(err as Error).message}: ${fix}` } };
  }
}

function versionLine(where: string, version: number, newest: number): CheckResult {
  if (version > newest)
    return { ok: false, line: `database: ${where}: schema version ${version} is newer than this rac (${newest}): upgrade rac` };
  if (version === 0) return { ok: true, line: `database: ${where}: empty; rac serve creates the schema (version ${newest})` };
  if (version < newest)
    return { ok: true, line: `database: ${where}: schema version ${version}; rac serve upgrades it to ${newest} at start` };
  return { ok: true, line: `database: ${where}: schema version ${version} (current)` };
}

async function openSqliteReadOnly(file: string): Promise<SqlDatabase> {
  const { SqliteDatabase, loadSqlite } = await import('./sql/sqlite-database.js');
  const Sqlite = await loadSqlite();
  return new SqliteDatabase(new Sqlite(file, { readonly: true, fileMustExist: true }));
}

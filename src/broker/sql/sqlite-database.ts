// The embedded engine: one SQLite file in the data dir through better-sqlite3 (synchronous, one
// connection). better-sqlite3 is an optional dependency (a native module that may need a compiler),
// loaded here only, so `rac agent` and the CLI install and run without it.
import type Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { type VersionStore, migrate } from './migrations.js';
import type { SqlDatabase, SqlExecutor, SqlRunResult, SqlValue } from './sql-database.js';

export const SQLITE_FILE = 'rac.db';

const sqliteVersions: VersionStore = {
  read: async (db) => (await db.get<{ user_version: number }>('PRAGMA user_version'))!.user_version,
  write: async (tx, version) => void (await tx.run(`PRAGMA user_version = ${Number(version)}`)),
};

/** Opens (creating when new, mode 0600) and migrates the data dir's database. */
export async function openSqlite(dataDir: string): Promise<SqliteDatabase> {
  const Sqlite = await loadSqlite();
  const file = join(dataDir, SQLITE_FILE);
  const isNew = !existsSync(file);
  const connection = new Sqlite(file);
  // The file holds password hashes and SMTP credentials.
  if (isNew) chmodSync(file, 0o600);
  connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = NORMAL');
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');
  const db = new SqliteDatabase(connection);
  try {
    await migrate(db, sqliteVersions);
  } catch (err) {
    connection.close();
    throw err;
  }
  return db;
}

export async function loadSqlite(): Promise<typeof Database> {
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

/** SQLite has no booleans. */
const bind = (params: readonly SqlValue[]) => params.map((value) => (typeof value === 'boolean' ? Number(value) : value));

/**
 * One connection: a transaction spans awaits, so transactions take turns (a promise queue) and
 * statements outside them wait while one is open. Statements run at once when nothing is queued.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly engine = 'sqlite';
  private readonly statements = new Map<string, Database.Statement>();
  /** Settles when the last queued transaction has ended; undefined when none is queued. */
  private queue: Promise<void> | undefined;
  private readonly direct: SqlExecutor;

  constructor(readonly connection: Database.Database) {
    this.direct = {
      engine: 'sqlite',
      get: async (sql, params = []) => this.prepare(sql).get(...bind(params)) as never,
      all: async (sql, params = []) => this.prepare(sql).all(...bind(params)) as never,
      run: async (sql, params = []) => this.runNow(sql, params),
      lock: async () => undefined,
    };
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.outside(() => this.direct.get<T>(sql, params));
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.outside(() => this.direct.all<T>(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<SqlRunResult> {
    return this.outside(() => this.direct.run(sql, params));
  }

  /** Outside a transaction SQLite holds no lock to keep: nothing to do. */
  async lock(): Promise<void> {}

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.inTurn(() => this.runTransaction(work));
  }

  /** A consistent copy of the database in `file` (SQLite's online backup), taken between transactions. */
  backup(file: string): Promise<void> {
    return this.inTurn(async () => void (await this.connection.backup(file)));
  }

  /** Runs `work` when the transactions queued before it have ended; later ones wait for it. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.queue ?? Promise.resolve();
    const result = previous.then(work);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.queue = settled;
    void settled.then(() => {
      if (this.queue === settled) this.queue = undefined;
    });
    return result;
  }

  async schemaVersion(): Promise<number> {
    return sqliteVersions.read(this);
  }

  async close(): Promise<void> {
    await this.queue;
    this.connection.close();
  }

  private async runTransaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.connection.exec('BEGIN IMMEDIATE');
    try {
      const result = await work(this.direct);
      this.connection.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.connection.inTransaction) this.connection.exec('ROLLBACK');
      throw err;
    }
  }

  /** Runs a statement between transactions: a statement run inside one would commit or roll back with it. */
  private outside<T>(statement: () => Promise<T>): Promise<T> {
    return this.queue ? this.afterTransactions(statement) : statement();
  }

  private async afterTransactions<T>(statement: () => Promise<T>): Promise<T> {
    while (this.queue) await this.queue;
    return statement();
  }

  private runNow(sql: string, params: readonly SqlValue[]): SqlRunResult {
    const statement = this.prepare(sql);
    // A statement with RETURNING yields rows; run() refuses those, so they run through all().
    if (statement.reader) return { changes: statement.all(...bind(params)).length };
    return { changes: statement.run(...bind(params)).changes };
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.connection.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

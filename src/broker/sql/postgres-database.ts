// The engine for several `rac serve` nodes: PostgreSQL through a pg.Pool. Statements arrive with
// SQLite's `?` placeholders and are rewritten to `$1, $2…` once each; int8 values (count(*), ms
// timestamps) come back as numbers like SQLite's.
import pg from 'pg';
import { type VersionStore, migrate } from './migrations.js';
import type { SqlDatabase, SqlExecutor, SqlRunResult, SqlValue } from './sql-database.js';

const INT8_OID = 20;
/** serialization_failure and deadlock_detected: the transaction did nothing and may run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const ATTEMPTS = 5;

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

const postgresVersions: VersionStore = {
  async read(db) {
    // A query of the catalog table (to_regclass would answer from this connection's cache, which
    // may not yet know the table another node created while this one waited for the lock).
    const table = await db.get('SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?', ['schema_version']);
    if (!table) return 0;
    return (await db.get<{ version: number }>('SELECT version FROM schema_version'))?.version ?? 0;
  },
  // Runs under the migration lock: no other node creates the table at the same time.
  async write(tx, version) {
    await tx.run('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    await tx.run('DELETE FROM schema_version');
    await tx.run('INSERT INTO schema_version (version) VALUES (?)', [version]);
  },
};

export interface PostgresOptions {
  /** Told about errors of idle pooled connections (the server restarted, the network dropped). */
  onIdleError?: (err: Error) => void;
  /** Connections per node (default 10). */
  maxConnections?: number;
}

/** Connects and migrates (nodes starting together migrate one at a time). */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
  const db = connectPostgres(url, options);
  try {
    await migrate(db, postgresVersions);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/** A pool on the database, without migrating it (`rac serve --check` changes nothing). */
export function connectPostgres(url: string, options: PostgresOptions = {}): PostgresDatabase {
  const pool = new pg.Pool({ connectionString: url, types, max: options.maxConnections ?? 10 });
  pool.on('error', (err) => options.onIdleError?.(err));
  return new PostgresDatabase(pool);
}

const placeholders = new Map<string, string>();

/** `?` → `$n`, leaving string literals, quoted names and comments alone. */
export function toPostgresPlaceholders(sql: string): string {
  const cached = placeholders.get(sql);
  if (cached !== undefined) return cached;
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    const end = c === "'" || c === '"' ? sql.indexOf(c, i + 1) : c === '-' && sql[i + 1] === '-' ? sql.indexOf('\n', i) : -2;
    if (end !== -2) {
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else out += c === '?' ? `$${++n}` : c;
  }
  placeholders.set(sql, out);
  return out;
}

/** pg sends a Buffer as bytea and everything else as text; booleans as 0/1, like the SQLite columns. */
const bind = (params: readonly SqlValue[]) =>
  params.map((value) => (typeof value === 'boolean' ? Number(value) : typeof value === 'bigint' ? value.toString() : value));

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  const query = <T>(sql: string, params: readonly SqlValue[]) =>
    client.query<T & pg.QueryResultRow>(toPostgresPlaceholders(sql), bind(params) as unknown[]);
  return {
    engine: 'postgres',
    get: async <T>(sql: string, params: readonly SqlValue[] = []) => (await query<T>(sql, params)).rows[0],
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => (await query<T>(sql, params)).rows,
    run: async (sql, params = []): Promise<SqlRunResult> => ({ changes: (await query(sql, params)).rowCount ?? 0 }),
    // Held until the transaction ends; the 64-bit hash of the key names the lock.
    lock: async (key) => void (await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key])),
  };
}

export class PostgresDatabase implements SqlDatabase {
  readonly engine = 'postgres';
  private readonly pooled: SqlExecutor;

  constructor(private readonly pool: pg.Pool) {
    this.pooled = executor(pool);
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.pooled.get<T>(sql, params);
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.pooled.all<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<SqlRunResult> {
    return this.pooled.run(sql, params);
  }

  /** Outside a transaction a lock would end with the statement: nothing to hold. */
  async lock(): Promise<void> {}

  /** READ COMMITTED on one pooled connection; a deadlock or serialization failure runs the work again. */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (!RETRYABLE.has((err as { code?: string }).code ?? '') || attempt >= ATTEMPTS) throw err;
      } finally {
        client.release();
      }
    }
  }

  async schemaVersion(): Promise<number> {
    return postgresVersions.read(this);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

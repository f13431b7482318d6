// The broker's one data-access interface, spoken by both engines: SQLite (embedded, one machine) and
// PostgreSQL (several `rac serve` nodes on one database). Stores write SQL once, with `?`
// placeholders and the subset both engines share; the adapters differ only in how they run it.

export type SqlValue = string | number | bigint | boolean | Buffer | null;

export interface SqlRunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

export interface SqlExecutor {
  readonly engine: 'sqlite' | 'postgres';
  /** The first row, or undefined. */
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<SqlRunResult>;
  /**
   * Inside a transaction: holds `key` until the transaction ends, so transactions that check the
   * same rule (a user's max_sessions, the last admin) run one after the other, on every node.
   * SQLite serialises its transactions anyway; PostgreSQL takes an advisory transaction lock.
   */
  lock(key: string): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `work` in one transaction, committed when it resolves and rolled back when it throws.
   * Everything the work reads and writes goes through `tx`; concurrent transactions that would
   * break a rule together (two sessions past max_sessions) are serialised by the adapter.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** The schema version the migrations reached. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

/** Whether the error is a UNIQUE violation, in either engine. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

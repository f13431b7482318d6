// The broker's database: SQLite in the data dir or PostgreSQL by URL, both through the one async
// interface in sql/ (the schema lives in sql/migrations.ts).
import type { SqlDatabase } from './sql/sql-database.js';

export type Db = SqlDatabase;
export { openDatabase } from './sql/open-database.js';

/** ISO 8601 in UTC, seconds precision: `2026-01-31T10:30:00Z`. */
export function isoNow(now = Date.now()): string {
  return new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

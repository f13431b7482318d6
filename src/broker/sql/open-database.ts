// Which engine `rac serve` uses: SQLite in the data dir unless a PostgreSQL URL is given.
import type { SqlDatabase } from './sql-database.js';

export interface DatabaseChoice {
  dataDir: string;
  /** --database or RAC_DATABASE_URL: a postgres:// or postgresql:// URL. */
  url?: string;
  onIdleError?: (err: Error) => void;
}

export const ACCEPTED_DATABASE_URLS = 'postgres://USER:PASSWORD@HOST:PORT/DATABASE (or postgresql://…)';

/** Throws when the URL names an engine rac does not speak (without repeating the URL: it may hold a password). */
export function checkDatabaseUrl(url: string): void {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    const what = scheme ? `a ${scheme}: URL` : 'not a URL';
    throw new Error(`--database is ${what}: rac serve accepts ${ACCEPTED_DATABASE_URLS}, or no --database for SQLite in the data dir`);
  }
}

export async function openDatabase(choice: DatabaseChoice): Promise<SqlDatabase> {
  if (!choice.url) {
    const { openSqlite } = await import('./sqlite-database.js');
    return openSqlite(choice.dataDir);
  }
  checkDatabaseUrl(choice.url);
  const { openPostgres } = await import('./postgres-database.js');
  try {
    return await openPostgres(choice.url, { onIdleError: choice.onIdleError });
  } catch (err) {
    const hint = isConnectionFailure(err) ? `: ${CONNECTION_HINT}` : '';
    throw new Error(`PostgreSQL at ${describeDatabaseUrl(choice.url)}: ${(err as Error).message}${hint}`, { cause: err });
  }
}

/** What to do when the server cannot be reached or refuses us (`rac serve --check` says the same). */
export const CONNECTION_HINT =
  'check the URL (user, password, host, database), that the server runs and that it lets this host in (pg_hba.conf)';

/** Network errors, and PostgreSQL's refusals of the login (class 28) or the database (3D000). */
function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return /^E[A-Z]+$/.test(code) || code.startsWith('28') || code === '3D000';
}

/** The URL without its password, for messages and logs. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an unparsable URL';
  }
}

// An online, consistent backup of a running broker: SQLite's backup API copies the database page by
// page while sessions go on (a consistent snapshot, whatever is written meanwhile), and the key
// files are copied beside it: without jwt-secret.key every login breaks, without smtp-secret.key the
// stored SMTP password cannot be read. One tar archive, restored with `tar -xf` into the data dir.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from './database.js';
import { Errors } from './errors.js';
import { SQLITE_FILE, SqliteDatabase } from './sql/sqlite-database.js';
import { tarArchive } from './tar-archive.js';

/** The data dir's files a backup holds, besides the database. */
export const BACKED_UP_KEYS = ['jwt-secret.key', 'smtp-secret.key'];
export const DATABASE_FILE = SQLITE_FILE;

export interface Backup {
  archive: Buffer;
  files: string[];
}

export async function backupDataDir(db: Db, dataDir: string): Promise<Backup> {
  // PostgreSQL has its own tools (pg_dump); a copy of its data here would not be consistent with them.
  if (!(db instanceof SqliteDatabase)) throw Errors.backupOnPostgres();
  // The snapshot is written inside the data dir (mode 700): it holds the same secrets.
  const scratch = mkdtempSync(join(dataDir, 'backup-'));
  try {
    const snapshot = join(scratch, DATABASE_FILE);
    await db.backup(snapshot);
    const entries = [{ name: DATABASE_FILE, mode: 0o600, content: readFileSync(snapshot) }];
    for (const name of BACKED_UP_KEYS) {
      const file = join(dataDir, name);
      if (statSync(file, { throwIfNoEntry: false })) entries.push({ name, mode: 0o600, content: readFileSync(file) });
    }
    return { archive: tarArchive(entries), files: entries.map((entry) => entry.name) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

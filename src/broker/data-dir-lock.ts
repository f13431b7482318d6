// One `rac serve` per data dir. A second broker on the same dir would re-claim the first one's
// session ports, fail, and close every live session in the shared database before dying on the
// HTTP port; so the broker takes this lock before it opens the database or binds anything.
//
// Why a pid file and not flock(2): Node has no flock without a native module, and a lock must die
// with its holder. The file is created with O_EXCL (atomic on local file systems) and holds the
// holder's pid; a file whose pid no longer runs is stale (the holder crashed or was killed -9) and
// is replaced. A pid that was reused by an unrelated process makes the lock look held: the message
// names the file, so an admin who checked the pid can delete it.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'rac-serve.pid';

export class DataDirLockedError extends Error {
  constructor(
    readonly pid: number,
    readonly dataDir: string,
    readonly lockFile: string,
  ) {
    super(`another rac serve (pid ${pid}) is using ${dataDir}; stop it first (or delete ${lockFile} if that pid is not a rac serve)`);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Removes the pid file if it is still ours. Safe to call more than once. */
  release(): void;
}

/** Takes the lock on `dataDir` (which must exist) or throws DataDirLockedError. */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, LOCK_FILE);
  // Two tries: the second follows the removal of a stale file (a crashed holder).
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(file)) return heldLock(file);
    const holder = readPid(file);
    if (holder !== null && isRunning(holder)) throw new DataDirLockedError(holder, dataDir, file);
    // Stale (or empty: its holder died between create and write). Re-read before removing, so a
    // lock another starter took meanwhile is left alone. Two starts racing within that instant
    // after a crash could still both pass: accepted, as the case this lock exists for is a second
    // start long after the first.
    if (readPid(file) === holder) rmSync(file, { force: true });
  }
  const holder = readPid(file);
  throw new DataDirLockedError(holder ?? 0, dataDir, file);
}

function tryCreate(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function heldLock(file: string): DataDirLock {
  const release = () => {
    if (readPid(file) === process.pid) rmSync(file, { force: true });
    process.off('exit', release);
  };
  // A broker that exits without close() (an uncaught error) still leaves no file behind.
  process.on('exit', release);
  return { file, release };
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Signal 0 checks existence only; EPERM means it runs under another user, which still counts. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the running rac serve that holds `dataDir`, or null (no lock, or a stale one). */
export function lockHolder(dataDir: string): number | null {
  const holder = readPid(join(dataDir, LOCK_FILE));
  return holder !== null && isRunning(holder) ? holder : null;
}

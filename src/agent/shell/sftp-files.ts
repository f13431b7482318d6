// File system helpers for the SFTP server: stat results in SFTP's attribute shape, `ls -l` style
// long names, attribute changes, and the SFTP status for an fs error.
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { chmod, chown, truncate, utimes } from 'node:fs/promises';
import type { Attributes } from 'ssh2';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: its exports come off the default export.
const { utils } = ssh2;

const { STATUS_CODE } = utils.sftp;

export function attrsOf(stats: Stats): Attributes {
  return {
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    atime: Math.floor(stats.atimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

const TYPE_CHARS: [number, string][] = [
  [0o040000, 'd'],
  [0o120000, 'l'],
  [0o020000, 'c'],
  [0o060000, 'b'],
  [0o010000, 'p'],
  [0o140000, 's'],
];

/** "-rw-r--r--    1 1000     1000         4096 Nov 29 17:30 name", as OpenSSH's sftp-server writes it. */
export function longName(name: string, stats: Stats): string {
  const type = TYPE_CHARS.find(([bits]) => (stats.mode & 0o170000) === bits)?.[1] ?? '-';
  let perms = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (stats.mode >> shift) & 7;
    perms += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  const date = stats.mtime.toDateString().slice(4, 10) + ' ' + stats.mtime.toTimeString().slice(0, 5);
  const field = (value: number, width: number) => String(value).padEnd(width);
  return `${type}${perms}    ${field(stats.nlink, 4)} ${field(stats.uid, 8)} ${field(stats.gid, 8)} ${String(stats.size).padStart(8)} ${date} ${name}`;
}

/** Applies what `attrs` carries (size, owner, mode, times) to a path or an open file. */
export async function applyAttrs(target: string | FileHandle, attrs: Attributes): Promise<void> {
  const onPath = typeof target === 'string';
  if (attrs.size !== undefined) await (onPath ? truncate(target, attrs.size) : target.truncate(attrs.size));
  if (attrs.uid !== undefined && attrs.gid !== undefined)
    await (onPath ? chown(target, attrs.uid, attrs.gid) : target.chown(attrs.uid, attrs.gid));
  if (attrs.mode !== undefined) await (onPath ? chmod(target, attrs.mode & 0o7777) : target.chmod(attrs.mode & 0o7777));
  if (attrs.atime !== undefined && attrs.mtime !== undefined)
    await (onPath ? utimes(target, attrs.atime, attrs.mtime) : target.utimes(attrs.atime, attrs.mtime));
}

/** The SFTP status for an fs error (the message goes to the IT member's client). */
export function statusOf(err: unknown): { code: number; message: string } {
  const e = err as NodeJS.ErrnoException;
  const message = e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(e.message ?? err);
  switch (e.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return { code: STATUS_CODE.NO_SUCH_FILE, message };
    case 'EACCES':
    case 'EPERM':
      return { code: STATUS_CODE.PERMISSION_DENIED, message };
    default:
      return { code: STATUS_CODE.FAILURE, message };
  }
}

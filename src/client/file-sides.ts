// The two ends of `rac cp` behind one interface: this computer's file system (node:fs) and the
// customer's (SFTP over the tunnel), so the copy itself is written once.
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import type { SftpPool } from './sftp-pool.js';

export type EntryKind = 'file' | 'directory' | 'other';

export interface EntryInfo {
  kind: EntryKind;
  size: number;
  mode: number;
}

export interface ByteHandle {
  /**
   * Up to `length` bytes at `position`; fewer only at the end of the file. Given `into` (at least
   * `length` long), the bytes land there and the result is a view of it: a copy that reuses its
   * buffers does not touch fresh memory for every chunk.
   */
  read(position: number, length: number, into?: Buffer): Promise<Buffer>;
  write(position: number, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface FileSide {
  /** How messages name a path on this side ("report.pdf", "the customer's report.pdf"). */
  describe(path: string): string;
  stat(path: string): Promise<EntryInfo | undefined>;
  list(path: string): Promise<string[]>;
  /** Creates a directory; an existing one is fine. */
  makeDirectory(path: string): Promise<void>;
  openRead(path: string): Promise<ByteHandle>;
  /** Truncates, unless `keep` (a resumed copy writes after what is there). */
  openWrite(path: string, mode: number, keep: boolean): Promise<ByteHandle>;
  join(directory: string, name: string): string;
  basename(path: string): string;
}

const kindOf = (s: { isFile(): boolean; isDirectory(): boolean }): EntryKind =>
  s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';

export function localSide(): FileSide {
  const handle = (file: FileHandle): ByteHandle => ({
    read: async (position, length, into) => {
      const buffer = into ?? Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await file.read(buffer, got, length - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buffer.subarray(0, got);
    },
    write: async (position, data) => void (await file.write(data, 0, data.length, position)),
    close: () => file.close(),
  });
  return {
    describe: (path) => path,
    stat: async (path) => {
      const s = await stat(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
      return s && { kind: kindOf(s), size: s.size, mode: s.mode & 0o7777 };
    },
    list: (path) => readdir(path),
    makeDirectory: async (path) => void (await mkdir(path, { recursive: true })),
    openRead: async (path) => handle(await open(path, 'r')),
    openWrite: async (path, mode, keep) =>
      handle(await open(path, keep ? fsConstants.O_WRONLY : fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, mode)),
    join,
    basename,
  };
}

/** SFTP status 2: no such file. */
const NO_SUCH_FILE = 2;

const call = <T>(work: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => work((err, value) => (err ? reject(err) : resolve(value as T))));

/** A file open on one SFTP channel. */
function channelHandle(sftp: SFTPWrapper, h: Buffer): ByteHandle {
  return {
    read: async (position, length, into) => {
      const buffer = into ?? Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = await new Promise<number>((resolve, reject) =>
          sftp.read(h, buffer, got, length - got, position + got, (err, bytesRead) =>
            // The end of the file comes as an EOF status (code 1), not as 0 bytes.
            err ? ((err as { code?: number }).code === 1 ? resolve(0) : reject(err)) : resolve(bytesRead),
          ),
        );
        if (n === 0) break;
        got += n;
      }
      return buffer.subarray(0, got);
    },
    write: (position, data) => call<void>((cb) => sftp.write(h, data, 0, data.length, position, cb)),
    close: () => call<void>((cb) => sftp.close(h, cb)),
  };
}

/**
 * A file open on every channel of the pool: reads take the channels in turn, so several are on the
 * way on different channels; writes go over the first. Once a channel is lost every call fails with
 * the pool's error (the agent closed the files with the channels).
 */
function pooledHandle(pool: SftpPool, handles: ByteHandle[]): ByteHandle {
  let turn = 0;
  const guard = <T>(work: () => Promise<T>): Promise<T> => {
    if (pool.failure) return Promise.reject(pool.failure);
    return work().catch((err: unknown) => Promise.reject(pool.failure ?? err));
  };
  return {
    read: (position, length, into) => guard(() => handles[turn++ % handles.length]!.read(position, length, into)),
    write: (position, data) => guard(() => handles[0]!.write(position, data)),
    close: async () => {
      if (pool.failure) return;
      await guard(() => Promise.all(handles.map((h) => h.close())));
    },
  };
}

/** Opens the file on every channel of the pool; if one open fails, closes the others. */
async function openOnEvery(pool: SftpPool, open: (sftp: SFTPWrapper) => Promise<Buffer>): Promise<ByteHandle> {
  if (pool.failure) throw pool.failure;
  const settled = await Promise.allSettled(pool.channels.map(async (sftp) => channelHandle(sftp, await open(sftp))));
  const opened = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (!failed) return pooledHandle(pool, opened);
  // On a lost pool the channels are closed, and a close request there would wait forever.
  if (!pool.failure) await Promise.allSettled(opened.map((h) => h.close()));
  throw pool.failure ?? failed.reason;
}

/** The customer's file system over the pool's SFTP channels (one channel is a pool too). */
export function remoteSide(pool: SftpPool): FileSide {
  const sftp = pool.main;
  // ssh2 drops requests on a closed channel unanswered: after a loss, fail at once instead.
  const ask = <T>(work: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> =>
    pool.failure ? Promise.reject(pool.failure) : call(work).catch((err: unknown) => Promise.reject(pool.failure ?? err));
  return {
    describe: (path) => `the customer's ${path}`,
    stat: async (path) => {
      try {
        const s = await ask<import('ssh2').Stats>((cb) => sftp.stat(path, cb));
        return { kind: kindOf(s), size: s.size, mode: s.mode & 0o7777 };
      } catch (err) {
        if ((err as { code?: number }).code === NO_SUCH_FILE) return undefined;
        throw err;
      }
    },
    list: async (path) => (await ask<import('ssh2').FileEntry[]>((cb) => sftp.readdir(path, cb))).map((e) => e.filename),
    makeDirectory: async (path) => {
      if ((await remoteSide(pool).stat(path))?.kind === 'directory') return;
      await ask<void>((cb) => sftp.mkdir(path, cb));
    },
    openRead: (path) => openOnEvery(pool, (channel) => call<Buffer>((cb) => channel.open(path, 'r', cb))),
    openWrite: async (path, mode, keep) =>
      pooledHandle(pool, [channelHandle(sftp, await ask<Buffer>((cb) => sftp.open(path, keep ? 'r+' : 'w', { mode }, cb)))]),
    join: (directory, name) => posix.join(directory, name),
    basename: (path) => posix.basename(path),
  };
}

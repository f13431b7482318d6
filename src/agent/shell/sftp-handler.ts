// The `sftp` subsystem: ssh2's SFTP server (protocol version 3, what OpenSSH's sftp and scp speak)
// answered with real file operations, as the customer's user, on the customer's file system.
// Relative paths start at the customer's home directory. Finished transfers and changes are told
// to the customer, one line each.
import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, realpath, rename, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Attributes, SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: its exports come off the default export.
const { utils } = ssh2;
import { ActivityLine, type ShellUser } from './activity-log.js';
import { applyAttrs, attrsOf, longName, statusOf } from './sftp-files.js';
import type { TransferTally } from './transfer-tally.js';

const { STATUS_CODE, OPEN_MODE } = utils.sftp;

/** The most bytes one READ answers with (clients ask for 32–256 kB). */
const MAX_READ_BYTES = 256 * 1024;
/** Directory entries per READDIR answer, so one answer stays well under a packet. */
const NAMES_PER_READDIR = 64;
/** Names without attributes (realpath, readlink): ssh2 sends the fields that are present, here none. */
const NO_ATTRS = {} as Attributes;

interface OpenFile {
  kind: 'file';
  file: FileHandle;
  path: string;
  bytesRead: number;
  bytesWritten: number;
}
interface OpenDir {
  kind: 'dir';
  path: string;
  left?: string[];
}

/** SFTP's open flags as fs flags (every combination: scp opens WRITE|CREAT without TRUNC, for one). */
function openFlags(flags: number): number | undefined {
  const read = (flags & OPEN_MODE.READ) !== 0;
  const write = (flags & OPEN_MODE.WRITE) !== 0;
  if (!read && !write) return undefined;
  let result = read && write ? fsConstants.O_RDWR : write ? fsConstants.O_WRONLY : fsConstants.O_RDONLY;
  if (flags & OPEN_MODE.APPEND) result |= fsConstants.O_APPEND;
  if (flags & OPEN_MODE.CREAT) result |= fsConstants.O_CREAT;
  if (flags & OPEN_MODE.TRUNC) result |= fsConstants.O_TRUNC;
  if (flags & OPEN_MODE.EXCL) result |= fsConstants.O_EXCL;
  return result;
}

/**
 * Tells the client the subsystem exited with status 0, as sshd does when sftp-server exits: OpenSSH's
 * scp (SFTP mode) reports failure without it. ssh2's SFTP object has no public exit(), so this uses
 * the same internal call its Channel.exit() makes.
 */
function sendExitStatusZero(sftp: SFTPWrapper): void {
  const internal = sftp as unknown as {
    _protocol?: { exitStatus?(id: number, status: number): void };
    outgoing?: { id?: number; state?: string };
  };
  const id = internal.outgoing?.id;
  if (internal.outgoing?.state === 'open' && id !== undefined) internal._protocol?.exitStatus?.(id, 0);
}

export interface SftpContext {
  user: ShellUser;
  log(line: string): void;
  transfers: TransferTally;
}

export function serveSftp(sftp: SFTPWrapper, ctx: SftpContext): void {
  new SftpSession(sftp, ctx).listen();
}

class SftpSession {
  private readonly handles = new Map<number, OpenFile | OpenDir>();
  private nextHandle = 1;
  private readonly home = homedir();
  /** Requests still being answered, and whether the client sent EOF (then the channel closes once they are). */
  private pending = 0;
  private clientDone = false;
  private queue: Promise<void> = Promise.resolve();
  private readBuffer: Buffer | undefined;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly ctx: SftpContext,
  ) {}

  private at = (path: string) => resolve(this.home, path);

  /**
   * Runs one request after the ones before it (as OpenSSH's sftp-server does: a truncate must not
   * overtake the writes sent before it); an fs error becomes the request's status.
   */
  private answer(reqid: number, work: () => Promise<void>): void {
    this.pending++;
    this.queue = this.queue
      .then(work)
      .catch((err: unknown) => {
        const { code, message } = statusOf(err);
        this.sftp.status(reqid, code, message);
      })
      .finally(() => {
        this.pending--;
        this.endIfDone();
      });
  }

  /** Like OpenSSH's sftp-server exiting at EOF: without it the client waits forever for the channel to close. */
  private endIfDone(): void {
    if (!this.clientDone || this.pending !== 0) return;
    sendExitStatusZero(this.sftp);
    this.sftp.end();
  }

  private ok = (reqid: number) => this.sftp.status(reqid, STATUS_CODE.OK);

  private handleOf(buffer: Buffer): OpenFile | OpenDir {
    const entry = buffer.length === 4 ? this.handles.get(buffer.readUInt32BE(0)) : undefined;
    if (!entry) throw Object.assign(new Error('unknown handle'), { code: 'EBADF' });
    return entry;
  }

  private fileOf(buffer: Buffer): OpenFile {
    const entry = this.handleOf(buffer);
    if (entry.kind !== 'file') throw Object.assign(new Error('a directory handle where a file handle belongs'), { code: 'EBADF' });
    return entry;
  }

  private newHandle(entry: OpenFile | OpenDir): Buffer {
    const id = this.nextHandle++;
    this.handles.set(id, entry);
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(id, 0);
    return buffer;
  }

  listen(): void {
    const s = this.sftp;
    s.on('OPEN', (reqid, filename, flags, attrs) => this.answer(reqid, () => this.open(reqid, filename, flags, attrs.mode)));
    s.on('READ', (reqid, handle, offset, length) => this.answer(reqid, () => this.read(reqid, handle, offset, length)));
    s.on('WRITE', (reqid, handle, offset, data) => this.answer(reqid, () => this.write(reqid, handle, offset, data)));
    s.on('FSTAT', (reqid, handle) => this.answer(reqid, () => this.fstat(reqid, handle)));
    s.on('FSETSTAT', (reqid, handle, attrs) =>
      this.answer(reqid, async () => {
        await applyAttrs(this.fileOf(handle).file, attrs);
        this.ok(reqid);
      }),
    );
    s.on('CLOSE', (reqid, handle) => this.answer(reqid, () => this.close(reqid, handle)));
    s.on('OPENDIR', (reqid, path) => this.answer(reqid, () => this.opendir(reqid, path)));
    s.on('READDIR', (reqid, handle) => this.answer(reqid, () => this.readdir(reqid, handle)));
    s.on('STAT', (reqid, path) => this.answer(reqid, async () => this.sftp.attrs(reqid, attrsOf(await stat(this.at(path))))));
    s.on('LSTAT', (reqid, path) => this.answer(reqid, async () => this.sftp.attrs(reqid, attrsOf(await lstat(this.at(path))))));
    s.on('SETSTAT', (reqid, path, attrs) =>
      this.answer(reqid, async () => {
        await applyAttrs(this.at(path), attrs);
        this.ok(reqid);
      }),
    );
    s.on('REALPATH', (reqid, path) => this.answer(reqid, () => this.realpath(reqid, path)));
    s.on('READLINK', (reqid, path) =>
      this.answer(reqid, async () => {
        const target = await readlink(this.at(path));
        this.sftp.name(reqid, [{ filename: target, longname: target, attrs: NO_ATTRS }]);
      }),
    );
    this.listenChanges();
    s.on('end', () => {
      this.clientDone = true;
      this.endIfDone();
    });
    s.on('close', () => {
      this.closeAll();
      this.ctx.transfers.channelClosed();
    });
  }

  private listenChanges(): void {
    const s = this.sftp;
    const change = (reqid: number, what: string, path: string, work: () => Promise<unknown>) =>
      this.answer(reqid, async () => {
        await work();
        this.ctx.log(ActivityLine.changed(this.ctx.user, what, this.at(path)));
        this.ok(reqid);
      });
    s.on('REMOVE', (reqid, path) => change(reqid, 'deleted', path, () => unlink(this.at(path))));
    s.on('RMDIR', (reqid, path) => change(reqid, 'deleted the folder', path, () => rmdir(this.at(path))));
    s.on('MKDIR', (reqid, path, attrs) =>
      change(reqid, 'created the folder', path, () => mkdir(this.at(path), { mode: (attrs.mode ?? 0o777) & 0o7777 })),
    );
    s.on('RENAME', (reqid, from, to) =>
      change(reqid, `renamed ${this.at(from)} to`, to, async () => {
        // SFTP v3's rename never replaces an existing file (OpenSSH's server behaves the same).
        if (
          await lstat(this.at(to)).then(
            () => true,
            () => false,
          )
        )
          throw Object.assign(new Error(`${to} exists`), { code: 'EEXIST' });
        await rename(this.at(from), this.at(to));
      }),
    );
  }

  private async open(reqid: number, filename: string, flags: number, mode: number | undefined): Promise<void> {
    const how = openFlags(flags);
    if (how === undefined) return void this.sftp.status(reqid, STATUS_CODE.FAILURE, `open flags ${flags} ask neither to read nor to write`);
    const path = this.at(filename);
    const file = await open(path, how, (mode ?? 0o666) & 0o7777);
    this.ctx.transfers.fileOpened(path);
    this.sftp.handle(reqid, this.newHandle({ kind: 'file', file, path, bytesRead: 0, bytesWritten: 0 }));
  }

  private async read(reqid: number, handle: Buffer, offset: number, length: number): Promise<void> {
    const entry = this.fileOf(handle);
    // Requests run one at a time and data() copies what it sends: one buffer serves every READ.
    this.readBuffer ??= Buffer.allocUnsafe(MAX_READ_BYTES);
    const { bytesRead } = await entry.file.read(this.readBuffer, 0, Math.min(length, MAX_READ_BYTES), offset);
    if (bytesRead === 0) return void this.sftp.status(reqid, STATUS_CODE.EOF);
    entry.bytesRead += bytesRead;
    this.sftp.data(reqid, this.readBuffer.subarray(0, bytesRead));
  }

  private async write(reqid: number, handle: Buffer, offset: number, data: Buffer): Promise<void> {
    const entry = this.fileOf(handle);
    await entry.file.write(data, 0, data.length, offset);
    entry.bytesWritten += data.length;
    this.ok(reqid);
  }

  private async fstat(reqid: number, handle: Buffer): Promise<void> {
    const entry = this.handleOf(handle);
    this.sftp.attrs(reqid, attrsOf(entry.kind === 'file' ? await entry.file.stat() : await stat(entry.path)));
  }

  private async close(reqid: number, handle: Buffer): Promise<void> {
    const entry = this.handleOf(handle);
    this.handles.delete(handle.readUInt32BE(0));
    if (entry.kind === 'file') {
      await entry.file.close();
      this.logTransfer(entry, 'closed');
    }
    this.ok(reqid);
  }

  /**
   * `left-open`: the channel ended with the file still open (the IT side was killed or lost its
   * link), so the customer is not told a copy was made.
   */
  private logTransfer(entry: OpenFile, how: 'closed' | 'left-open'): void {
    const { user } = this.ctx;
    const total = this.ctx.transfers.fileClosed(entry.path, entry);
    if (!total) return;
    const [to, from] =
      how === 'closed' ? [ActivityLine.copiedTo, ActivityLine.copiedFrom] : [ActivityLine.stoppedTo, ActivityLine.stoppedFrom];
    if (total.bytesWritten > 0) this.ctx.log(to(user, entry.path, total.bytesWritten));
    else if (total.bytesRead > 0) this.ctx.log(from(user, entry.path, total.bytesRead));
  }

  private async opendir(reqid: number, path: string): Promise<void> {
    const dir = this.at(path);
    if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error(`${path} is not a directory`), { code: 'ENOTDIR' });
    this.sftp.handle(reqid, this.newHandle({ kind: 'dir', path: dir }));
  }

  private async readdir(reqid: number, handle: Buffer): Promise<void> {
    const entry = this.handleOf(handle);
    if (entry.kind !== 'dir') throw Object.assign(new Error('a file handle where a directory handle belongs'), { code: 'EBADF' });
    entry.left ??= ['.', '..', ...(await readdir(entry.path))];
    if (entry.left.length === 0) return void this.sftp.status(reqid, STATUS_CODE.EOF);
    const batch = entry.left.splice(0, NAMES_PER_READDIR);
    const names = [];
    for (const filename of batch) {
      // An entry that vanished (or cannot be stat'ed) since the listing is left out.
      const stats = await lstat(join(entry.path, filename)).catch(() => undefined);
      if (stats) names.push({ filename, longname: longName(filename, stats), attrs: attrsOf(stats) });
    }
    this.sftp.name(reqid, names);
  }

  private async realpath(reqid: number, path: string): Promise<void> {
    const absolute = this.at(path);
    // A path that does not exist yet (a copy's destination) resolves as written.
    const real = await realpath(absolute).catch(() => absolute);
    this.sftp.name(reqid, [{ filename: real, longname: real, attrs: NO_ATTRS }]);
  }

  private closeAll(): void {
    for (const entry of this.handles.values()) {
      if (entry.kind !== 'file') continue;
      void entry.file.close().catch(() => undefined);
      this.logTransfer(entry, 'left-open');
    }
    this.handles.clear();
  }
}

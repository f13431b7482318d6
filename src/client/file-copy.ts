// `rac cp`: copies a file or a tree between two FileSides, the way scp does (into an existing
// directory under the source's name, else to the destination path), with many reads in flight so
// the tunnel's latency does not set the speed, a progress line for long files, and resuming: a
// destination that is a shorter copy of the source is continued, not redone (see resumeOffset).
import { createHash } from 'node:crypto';
import type { ByteHandle, EntryInfo, FileSide } from './file-sides.js';
import { createProgress } from './progress.js';
import { SFTP_DATA_BYTES } from './ssh-session.js';
import { WriteWindow } from './write-window.js';

export interface CopyOptions {
  recursive: boolean;
  /** Where progress and notes go (stderr). */
  status: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface CopyResult {
  files: number;
  bytes: number;
  /** Bytes that were already at the destination and not sent again. */
  resumedBytes: number;
}

/** A copy that cannot start or go on; the message says what to do. */
export class CopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyError';
  }
}

/** One read or write: one SFTP request on the customer's side. */
export const CHUNK_BYTES = SFTP_DATA_BYTES;
/** Chunks on the way at once (4 MiB): more than the SSH channel's 2 MiB window, so it never runs dry. */
const IN_FLIGHT = 16;
/** A resume that would start below this copies the file again instead. */
export const RESUME_MIN_START = 1024 * 1024;
/** How much of a partial destination, just below where it resumes, must equal the source. */
const RESUME_CHECK_BYTES = 64 * 1024;
/**
 * How far writes may run ahead of the oldest unfinished one (see WriteWindow): a stopped copy's
 * holes all lie in its last RESUME_REDO_BYTES, so a resume writes those again.
 */
export const RESUME_REDO_BYTES = IN_FLIGHT * CHUNK_BYTES;

export async function copyEntry(from: FileSide, src: string, to: FileSide, dst: string, options: CopyOptions): Promise<CopyResult> {
  const info = await from.stat(src);
  if (!info) throw new CopyError(`${from.describe(src)} does not exist: check the path`);
  if (info.kind === 'other') throw new CopyError(`${from.describe(src)} is not a regular file or a directory`);
  if (info.kind === 'directory' && !options.recursive) throw new CopyError(`${from.describe(src)} is a directory: add -r to copy it`);
  const target = await to.stat(dst);
  const destination = target?.kind === 'directory' ? to.join(dst, from.basename(src)) : dst;
  const copier = new Copier(from, to, options);
  await copier.tree(src, destination);
  return copier.result;
}

/** One `rac cp`: the two sides, the options and the running totals. */
class Copier {
  readonly result: CopyResult = { files: 0, bytes: 0, resumedBytes: 0 };

  constructor(
    private readonly from: FileSide,
    private readonly to: FileSide,
    private readonly options: CopyOptions,
  ) {}

  async tree(src: string, dst: string): Promise<void> {
    const { from, to } = this;
    const info = await from.stat(src);
    if (!info || info.kind === 'other') {
      this.options.status.write(`rac cp: skipped ${from.describe(src)}: not a regular file or a directory\n`);
      return;
    }
    if (info.kind === 'file') return this.file(src, dst, info);
    await to.makeDirectory(dst);
    for (const name of await from.list(src)) await this.tree(from.join(src, name), to.join(dst, name));
  }

  private async file(src: string, dst: string, { size, mode }: EntryInfo): Promise<void> {
    const status = this.options.status;
    const reader = await this.from.openRead(src);
    try {
      const start = await resumeOffset(reader, this.to, dst, size);
      if (start > 0) status.write(`rac cp: ${this.to.describe(dst)} holds the first ${start} bytes already: resuming\n`);
      const writer = await this.to.openWrite(dst, mode, start > 0);
      try {
        const progress = createProgress({ label: this.from.basename(src), total: size, start, out: status });
        await copyBytes(reader, writer, start, size, (done) => progress.update(done));
        progress.finish();
      } finally {
        await writer.close();
      }
      this.result.files += 1;
      this.result.bytes += size - start;
      this.result.resumedBytes += start;
    } finally {
      await reader.close();
    }
  }
}

/**
 * Where to continue: RESUME_REDO_BYTES short of the destination's size when it is a shorter copy of
 * the source (the bytes just below that point equal the source's), else 0.
 */
async function resumeOffset(reader: ByteHandle, to: FileSide, dst: string, size: number): Promise<number> {
  const existing = await to.stat(dst);
  if (!existing || existing.kind !== 'file' || existing.size >= size) return 0;
  const start = existing.size - RESUME_REDO_BYTES;
  if (start < RESUME_MIN_START) return 0;
  const checkFrom = start - RESUME_CHECK_BYTES;
  const partial = await to.openRead(dst);
  try {
    const [ours, theirs] = await Promise.all([reader.read(checkFrom, RESUME_CHECK_BYTES), partial.read(checkFrom, RESUME_CHECK_BYTES)]);
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    return ours.length === RESUME_CHECK_BYTES && digest(ours) === digest(theirs) ? start : 0;
  } finally {
    await partial.close();
  }
}

/**
 * Copies [start, size) with IN_FLIGHT chunks on the way at once; each written at its own offset.
 * Each worker reads into its own buffer again and again: a fresh buffer per chunk costs page faults
 * (and garbage) on every 254 KiB, which showed as a tenth of the client's CPU in a profile.
 */
async function copyBytes(reader: ByteHandle, writer: ByteHandle, start: number, size: number, onProgress: (done: number) => void) {
  let next = start;
  let done = start;
  let failed = false;
  const window = new WriteWindow(RESUME_REDO_BYTES);
  const worker = async () => {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - start));
    while (next < size && !failed) {
      const position = next;
      const length = Math.min(CHUNK_BYTES, size - position);
      next += length;
      await window.admit(position, length);
      if (failed) return window.finished(position);
      try {
        // The write is done (both sides copy or write the bytes out) before the buffer is read into again.
        const data = await reader.read(position, length, buffer);
        if (data.length < length) throw new CopyError('the source file shrank while it was copied: copy it again');
        await writer.write(position, data);
      } finally {
        window.finished(position);
      }
      done += length;
      onProgress(done);
    }
  };
  // One failure stops the other workers before they issue more requests.
  const guarded = () =>
    worker().catch((err: unknown) => {
      failed = true;
      throw err;
    });
  await Promise.all(Array.from({ length: IN_FLIGHT }, guarded));
}

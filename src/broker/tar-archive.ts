// A plain POSIX tar (ustar) archive in memory, for the broker's backups: files only, short names,
// so that `tar -xf` on any system restores them with their mode.

export interface TarEntry {
  name: string;
  mode: number;
  content: Buffer;
  mtime?: Date;
}

const BLOCK = 512;

/** "0000644\0"-style octal field of `width` bytes. */
function octalField(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(entry: TarEntry): Buffer {
  if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar: name longer than 100 bytes: ${entry.name}`);
  const block = Buffer.alloc(BLOCK);
  block.write(entry.name, 0, 100, 'utf8');
  block.write(octalField(entry.mode & 0o7777, 8), 100, 'ascii');
  block.write(octalField(0, 8), 108, 'ascii'); // uid: the extracting user owns the files
  block.write(octalField(0, 8), 116, 'ascii'); // gid
  block.write(octalField(entry.content.length, 12), 124, 'ascii');
  block.write(octalField(Math.floor((entry.mtime ?? new Date()).getTime() / 1000), 12), 136, 'ascii');
  block.write('        ', 148, 'ascii'); // checksum counted as spaces
  block.write('0', 156, 'ascii'); // a regular file
  block.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

export function tarArchive(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(header(entry), entry.content);
    const padding = (BLOCK - (entry.content.length % BLOCK)) % BLOCK;
    parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(2 * BLOCK)); // end of archive
  return Buffer.concat(parts);
}

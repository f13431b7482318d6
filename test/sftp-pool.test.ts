// `rac cp` downloads over a pool of SFTP channels on one SSH connection (src/client/sftp-pool.ts),
// against the agent's real SSH server on a loopback socket: the file arrives byte for byte with its
// reads spread over every channel, the customer is told once, and a channel lost mid-copy ends the
// copy with a clear message and closes the other channels.
import './helpers/quiet-home.js';
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Client, SFTPWrapper } from 'ssh2';
import { CHUNK_BYTES, copyEntry } from '../src/client/file-copy.js';
import { type FileSide, localSide, remoteSide } from '../src/client/file-sides.js';
import { DOWNLOAD_CHANNELS, SftpChannelLostError, SftpPool } from '../src/client/sftp-pool.js';
import { connectSsh } from '../src/client/ssh-session.js';
import { IT_EMAIL, startShellServer } from './helpers/shell-server.js';
import { waitUntil } from './helpers/patience.js';

const server = await startShellServer();
t.teardown(() => server.close());

async function connect(): Promise<Client> {
  const client = await connectSsh({
    stream: netConnect(server.port, '127.0.0.1'),
    hostKey: server.hostKey.publicLine,
    username: IT_EMAIL,
    password: server.grant.token,
  });
  t.teardown(() => client.end());
  return client;
}

/** Counts the READ requests each channel sends (the array fills as they go). */
function countReads(channels: readonly SFTPWrapper[]): number[] {
  const counts = channels.map(() => 0);
  channels.forEach((channel, i) => {
    const read = channel.read.bind(channel);
    channel.read = ((...args: Parameters<SFTPWrapper['read']>) => {
      counts[i]! += 1;
      return read(...args);
    }) as SFTPWrapper['read'];
  });
  return counts;
}

/** Waits until every channel of the pool has closed. */
async function allClosed(channels: readonly SFTPWrapper[]): Promise<void> {
  const closed = channels.map(() => false);
  channels.forEach((channel, i) => channel.once('close', () => (closed[i] = true)));
  await waitUntil('every SFTP channel closed', () => closed.every(Boolean));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const status = () => new PassThrough();

t.test('a download over the pool: byte for byte, reads on every channel, one line for the customer', async (t) => {
  const before = server.lines.length;
  const pool = await SftpPool.open(await connect(), DOWNLOAD_CHANNELS);
  t.equal(pool.channels.length, DOWNLOAD_CHANNELS);
  const dir = mkdtempSync(join(tmpdir(), 'rac-pool-'));
  // Several chunks, and a size that is not a multiple of the chunk.
  const data = randomBytes(7 * CHUNK_BYTES + 4321);
  writeFileSync(join(dir, 'src.bin'), data);
  const reads = countReads(pool.channels);
  const result = await copyEntry(remoteSide(pool), join(dir, 'src.bin'), localSide(), join(dir, 'dst.bin'), {
    recursive: false,
    status: status(),
  });
  t.same(result, { files: 1, bytes: data.length, resumedBytes: 0 });
  t.equal(sha(readFileSync(join(dir, 'dst.bin'))), sha(data), 'identical bytes');
  t.ok(
    reads.every((n) => n > 0),
    `every channel carried reads (${reads.join(', ')})`,
  );
  const closing = allClosed(pool.channels);
  pool.close();
  await closing;
  await waitUntil('the customer is told about the copy', () => server.lines.slice(before).some((l) => / copied src\.bin /.test(l)));
  const told = server.lines.slice(before);
  t.equal(told.filter((l) => / copied src\.bin /.test(l)).length, 1, 'one line for the file, not one per channel');
  t.match(told.join('\n'), /Jane Doe copied src\.bin \(1\.8 MB\) from /, 'with the bytes of every channel');
  t.equal(told.filter((l) => /started a file transfer session/.test(l)).length, 1, 'one transfer session told');
});

/** The local side, with a hook run before every write. */
function localWithHook(beforeWrite: (count: number) => void): FileSide {
  const local = localSide();
  let writes = 0;
  return {
    ...local,
    openWrite: async (path, mode, keep) => {
      const handle = await local.openWrite(path, mode, keep);
      return { ...handle, write: (position, data) => (beforeWrite(++writes), handle.write(position, data)) };
    },
  };
}

t.test('a channel lost mid-download ends the copy with a clear message and closes the others', async (t) => {
  const before = server.lines.length;
  const pool = await SftpPool.open(await connect(), DOWNLOAD_CHANNELS);
  const closing = allClosed(pool.channels);
  const dir = mkdtempSync(join(tmpdir(), 'rac-pool-lost-'));
  writeFileSync(join(dir, 'src.bin'), randomBytes(40 * CHUNK_BYTES));
  // The second channel closes for real (the agent sees its channel end) after the first chunk lands.
  const to = localWithHook((count) => count === 1 && pool.channels[1]!.end());
  await t.rejects(copyEntry(remoteSide(pool), join(dir, 'src.bin'), to, join(dir, 'dst.bin'), { recursive: false, status: status() }), {
    name: 'SftpChannelLostError',
    message: /an SFTP channel to the customer's computer closed during the copy .*: run rac cp again/,
  });
  await closing;
  t.ok(pool.failure instanceof SftpChannelLostError, 'the pool says why it stopped');
  await t.rejects(remoteSide(pool).stat(dir), SftpChannelLostError, 'later requests fail at once instead of hanging');
  const told = () => server.lines.slice(before).join('\n');
  await waitUntil('the customer is told the copy stopped', () => / stopped copying src\.bin /.test(told()));
  t.match(
    told(),
    /Jane Doe stopped copying src\.bin from .* after [\d.]+ [kM]B: the connection closed first\./,
    'the customer is told it stopped',
  );
  t.notMatch(told(), / copied src\.bin /, 'and never that it was copied');
});

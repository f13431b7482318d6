// The client half of `rac shell` and `rac cp` against the agent's real SSH server (src/agent/shell,
// fed a socket the way the agent feeds it the broker's tunnel): host key check, exec with status and signals, the
// interactive shell in a PTY with resizing and raw mode, and SFTP copies (both ways, trees, resume).
import './helpers/quiet-home.js';
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Client } from 'ssh2';
import { CopyError, RESUME_MIN_START, RESUME_REDO_BYTES, copyEntry } from '../src/client/file-copy.js';
import { localSide, remoteSide } from '../src/client/file-sides.js';
import { SftpPool } from '../src/client/sftp-pool.js';
import { createProgress } from '../src/client/progress.js';
import { commandLine, runInteractiveShell, runRemoteCommand, type ShellTerminal } from '../src/client/remote-shell.js';
import { HostKeyMismatchError, SshConnectError, connectSsh } from '../src/client/ssh-session.js';
import { sshHostKeyFingerprint } from '../src/protocol/ssh-host-key.js';
import { connect as netConnect } from 'node:net';
import { IT_EMAIL, type RunningShellServer, startShellServer } from './helpers/shell-server.js';
import { waitUntil } from './helpers/patience.js';

const server = await startShellServer();
t.teardown(() => server.close());

/** What openTunnel hands `rac shell`: the stream, the announced host key, the user and the stream token. */
const endpoint = (running: RunningShellServer = server) => ({
  stream: netConnect(running.port, '127.0.0.1'),
  hostKey: running.hostKey.publicLine,
  username: IT_EMAIL,
  password: running.grant.token,
});

async function connect(t: Test): Promise<Client> {
  const client = await connectSsh(endpoint());
  t.teardown(() => client.end());
  return client;
}

interface FakeTerminal extends ShellTerminal {
  stdin: PassThrough & ShellTerminal['stdin'];
  out(): string;
  err(): string;
  rawModes: boolean[];
}

function fakeTerminal(tty: boolean, size = { columns: 80, rows: 24 }): FakeTerminal {
  const stdin = new PassThrough() as PassThrough & ShellTerminal['stdin'];
  const stdout = new PassThrough() as PassThrough & ShellTerminal['stdout'];
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const rawModes: boolean[] = [];
  if (tty) {
    Object.assign(stdin, { isTTY: true, isRaw: false, setRawMode: (mode: boolean) => rawModes.push(mode) });
    Object.assign(stdout, { isTTY: true, ...size });
  }
  return { stdin, stdout, stderr, out: () => out, err: () => err, rawModes };
}

t.test("the host key must be the announced one, and the user the stream's", async (t) => {
  const other = await startShellServer();
  t.teardown(() => other.close());
  const wrongKey = connectSsh({ ...endpoint(), hostKey: other.hostKey.publicLine });
  await t.rejects(wrongKey, HostKeyMismatchError);
  const presented = sshHostKeyFingerprint(server.hostKey.publicLine)!;
  await t.rejects(wrongKey, { message: new RegExp(presented.replace(/[+/]/g, '\\$&')) });
  await t.rejects(connectSsh({ ...endpoint(), username: 'mallory@example.com', password: 'nope' }), SshConnectError);
  const client = await connectSsh(endpoint());
  client.end();
  t.pass('the announced key and the stream token log in');
});

t.test('a command: stdout and stderr apart, its exit status, signals as 128 + n, stdin piped', async (t) => {
  const client = await connect(t);
  const term = fakeTerminal(false);
  term.stdin.end();
  t.equal(await runRemoteCommand(client, ['echo out; echo err >&2; exit 7'], term), 7);
  t.equal(term.out(), 'out\n');
  t.equal(term.err(), 'err\n');
  const quoted = fakeTerminal(false);
  quoted.stdin.end();
  t.equal(await runRemoteCommand(client, ['sh', '-c', 'exit 7'], quoted), 7, 'several words keep their quoting');
  const killed = fakeTerminal(false);
  killed.stdin.end();
  t.equal(await runRemoteCommand(client, ['kill -TERM $$'], killed), 128 + 15);
  const cat = fakeTerminal(false);
  cat.stdin.end('piped through\n');
  t.equal(await runRemoteCommand(client, ['tr a-z A-Z'], cat), 0);
  t.equal(cat.out(), 'PIPED THROUGH\n');
});

t.test('commandLine quotes each word when there are several', async (t) => {
  t.equal(commandLine(['ls -l | wc -l']), 'ls -l | wc -l');
  t.equal(commandLine(['sh', '-c', 'exit 7']), "sh -c 'exit 7'");
  t.equal(commandLine(['echo', "it's"]), "echo 'it'\\''s'");
});

t.test('an interactive shell: PTY of the terminal size, resize, raw mode on then off, exit status', async (t) => {
  const client = await connect(t);
  const term = fakeTerminal(true, { columns: 91, rows: 27 });
  const exit = runInteractiveShell(client, term);
  term.stdin.write('stty size\r');
  await waitUntil('the first size', () => term.out().includes('27 91'));
  Object.assign(term.stdout, { columns: 120, rows: 33 });
  term.stdout.emit('resize');
  // The PTY takes the new size asynchronously: ask until it shows.
  await waitUntil('the new size', () => {
    term.stdin.write('stty size\r');
    return term.out().includes('33 120');
  });
  term.stdin.write('exit 3\r');
  t.equal(await exit, 3);
  t.same(term.rawModes, [true, false], 'raw mode on while the shell runs, back after');
});

t.test('rac cp: a file both ways, into a directory, a tree with -r, identical bytes', async (t) => {
  const client = await connect(t);
  const remote = remoteSide(await SftpPool.open(client, 1));
  const local = localSide();
  const dir = mkdtempSync(join(tmpdir(), 'rac-cp-'));
  const data = randomBytes(3 * 1024 * 1024 + 123);
  writeFileSync(join(dir, 'src.bin'), data);
  mkdirSync(join(dir, 'remote'));
  const status = fakeTerminal(false).stderr;
  const up = await copyEntry(local, join(dir, 'src.bin'), remote, join(dir, 'remote'), { recursive: false, status });
  t.same(up, { files: 1, bytes: data.length, resumedBytes: 0 });
  t.ok(readFileSync(join(dir, 'remote', 'src.bin')).equals(data), 'uploaded into the directory under its name');
  await copyEntry(remote, join(dir, 'remote', 'src.bin'), local, join(dir, 'back.bin'), { recursive: false, status });
  t.ok(readFileSync(join(dir, 'back.bin')).equals(data), 'downloaded to the named path');

  mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'tree', 'a.txt'), 'a');
  writeFileSync(join(dir, 'tree', 'sub', 'b.txt'), 'b');
  await t.rejects(copyEntry(local, join(dir, 'tree'), remote, join(dir, 'tree-copy'), { recursive: false, status }), {
    name: 'CopyError',
    message: /is a directory: add -r/,
  });
  const tree = await copyEntry(local, join(dir, 'tree'), remote, join(dir, 'tree-copy'), { recursive: true, status });
  t.equal(tree.files, 2);
  t.equal(readFileSync(join(dir, 'tree-copy', 'sub', 'b.txt'), 'utf8'), 'b');
  await t.rejects(copyEntry(remote, join(dir, 'missing'), local, dir, { recursive: false, status }), CopyError);
});

t.test('rac cp resumes a destination that is a shorter copy, and redoes one that differs', async (t) => {
  const client = await connect(t);
  const remote = remoteSide(await SftpPool.open(client, 1));
  const dir = mkdtempSync(join(tmpdir(), 'rac-cp-resume-'));
  const data = randomBytes(2 * RESUME_MIN_START + 3 * RESUME_REDO_BYTES);
  writeFileSync(join(dir, 'src.bin'), data);
  const partial = RESUME_MIN_START + 2 * RESUME_REDO_BYTES + 17;
  // A copy stopped midway can leave a gap among its last writes: the resume writes them again.
  const stopped = Buffer.from(data.subarray(0, partial));
  stopped.fill(0, partial - RESUME_REDO_BYTES / 2, partial - RESUME_REDO_BYTES / 4);
  writeFileSync(join(dir, 'dst.bin'), stopped);
  const status = new PassThrough();
  let notes = '';
  status.on('data', (c: Buffer) => (notes += c.toString()));
  const resumed = await copyEntry(remote, join(dir, 'src.bin'), localSide(), join(dir, 'dst.bin'), { recursive: false, status });
  const start = partial - RESUME_REDO_BYTES;
  t.same(resumed, { files: 1, bytes: data.length - start, resumedBytes: start });
  t.match(notes, `holds the first ${start} bytes already: resuming`);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  t.equal(sha(readFileSync(join(dir, 'dst.bin'))), sha(data), 'the gap among the last writes is filled');

  const corrupt = Buffer.from(data.subarray(0, partial));
  corrupt[start - 1] = corrupt[start - 1]! ^ 0xff;
  writeFileSync(join(dir, 'dst.bin'), corrupt);
  const redone = await copyEntry(remote, join(dir, 'src.bin'), localSide(), join(dir, 'dst.bin'), { recursive: false, status });
  t.same(redone, { files: 1, bytes: data.length, resumedBytes: 0 }, 'a differing byte below the resume point: copied again');
  t.equal(sha(readFileSync(join(dir, 'dst.bin'))), sha(data));

  writeFileSync(join(dir, 'dst.bin'), data.subarray(0, RESUME_MIN_START + RESUME_REDO_BYTES - 1));
  const small = await copyEntry(remote, join(dir, 'src.bin'), localSide(), join(dir, 'dst.bin'), { recursive: false, status });
  t.same(small, { files: 1, bytes: data.length, resumedBytes: 0 }, 'too short a partial copy: copied again');
});

t.test('the progress line: silent for a second, then redrawn in place, ended by a newline; never off a terminal', async (t) => {
  let clock = 0;
  const out = new PassThrough() as PassThrough & { isTTY?: boolean };
  out.isTTY = true;
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const progress = createProgress({ label: 'big.iso', total: 10_000_000, out, now: () => clock });
  clock = 500;
  progress.update(1_000_000);
  t.equal(text, '', 'nothing in the first second');
  clock = 2000;
  progress.update(5_000_000);
  t.equal(text, '\r\x1b[Kbig.iso  50%  2.5 MB/s  5.0 MB of 10.0 MB');
  clock = 2100;
  progress.update(6_000_000);
  t.notMatch(text, /60%/, 'at most five redraws a second');
  clock = 4000;
  progress.update(10_000_000);
  progress.finish();
  t.match(text, /big\.iso {2}100% {2}2\.5 MB\/s {2}10\.0 MB of 10\.0 MB\n$/);

  const log = new PassThrough();
  let logged = '';
  log.on('data', (c: Buffer) => (logged += c.toString()));
  const quiet = createProgress({ label: 'big.iso', total: 10, out: log, now: () => clock });
  clock += 5000;
  quiet.update(10);
  quiet.finish();
  t.equal(logged, '', 'no carriage-return noise in a log file');
});

// A small SSH server (ssh2's Server) for the client's tests, over a Unix socket injected the way the
// agent injects the tunnel (no TCP port; an in-process duplexPair delivers too eagerly for ssh2's
// strict key exchange): password
// auth, exec through sh, a shell in a PTY (node-pty) with window-change, and enough of SFTP for
// `rac cp` (open/read/write/close, stat, opendir/readdir, mkdir, realpath) on the local file system.
import { spawn } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  readdirSync,
  statSync,
  writeSync,
  type Stats as FsStats,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2, { type Connection, type ServerChannel, type SFTPWrapper } from 'ssh2';

const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

export interface TestSshServer {
  /** The client's end of a new connection. */
  connect(): Duplex;
  hostKey: string;
  username: string;
  password: string;
  close(): void;
}

export async function startTestSshServer(): Promise<TestSshServer> {
  const keys = utils.generateKeyPairSync('ed25519');
  const username = 'jane@example.com';
  const password = 'stream-token';
  const server = new Server({ hostKeys: [keys.private] }, (conn) => serve(conn, username, password));
  const path = join(mkdtempSync(join(tmpdir(), 'rac-ssh-')), 'ssh.sock');
  const listener = createServer((socket) => server.injectSocket(socket));
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  return {
    connect: () => connect(path),
    hostKey: keys.public,
    username,
    password,
    close: () => {
      listener.close();
      server.close();
    },
  };
}

function serve(conn: Connection, username: string, password: string): void {
  conn.on('authentication', (ctx) => {
    if (ctx.method === 'password' && ctx.username === username && ctx.password === password) ctx.accept();
    else ctx.reject(['password']);
  });
  conn.on('error', () => undefined);
  conn.on('session', (accept) => {
    const session = accept();
    let pty: { cols: number; rows: number } | undefined;
    let resize: (cols: number, rows: number) => void = () => undefined;
    session.on('pty', (ok, _no, info) => {
      pty = { cols: info.cols, rows: info.rows };
      ok?.();
    });
    session.on('window-change', (ok, _no, info) => {
      resize(info.cols, info.rows);
      ok?.();
    });
    session.on('exec', (ok, _no, info) => runExec(ok(), info.command));
    session.on('shell', async (ok) => (resize = await runShell(ok(), pty ?? { cols: 80, rows: 24 })));
    session.on('sftp', (ok) => serveSftp(ok()));
  });
}

function runExec(channel: ServerChannel, command: string): void {
  const child = spawn('sh', ['-c', command], { stdio: 'pipe' });
  channel.pipe(child.stdin);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr);
  child.on('close', (code, signal) => {
    if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
    else channel.exit(code ?? 0);
    channel.end();
  });
}

async function runShell(channel: ServerChannel, size: { cols: number; rows: number }) {
  const pty = await import('node-pty');
  const term = pty.spawn('sh', [], { cols: size.cols, rows: size.rows, env: { ...process.env, PS1: '$ ' } });
  term.onData((data) => channel.write(data));
  channel.on('data', (data: Buffer) => term.write(data.toString()));
  term.onExit(({ exitCode }) => {
    channel.exit(exitCode);
    channel.end();
  });
  return (cols: number, rows: number) => term.resize(cols, rows);
}

function attrsOf(s: FsStats) {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: s.atimeMs / 1000, mtime: s.mtimeMs / 1000 };
}

function serveSftp(sftp: SFTPWrapper): void {
  const files = new Map<number, number>();
  const dirs = new Map<number, { path: string; done: boolean }>();
  let next = 0;
  const handle = (n: number) => Buffer.from(String(n));
  const id = (h: Buffer) => Number(h.toString());
  const fail = (reqid: number, err: NodeJS.ErrnoException) =>
    sftp.status(reqid, err.code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.FAILURE, err.message);
  const guard = (reqid: number, work: () => void) => {
    try {
      work();
    } catch (err) {
      fail(reqid, err as NodeJS.ErrnoException);
    }
  };
  sftp.on('OPEN', (reqid, path, flags, attrs) =>
    guard(reqid, () => {
      const mode = flags & OPEN_MODE.WRITE ? (flags & OPEN_MODE.TRUNC ? 'w' : 'r+') : 'r';
      files.set(++next, openSync(path, mode, attrs.mode ?? 0o644));
      sftp.handle(reqid, handle(next));
    }),
  );
  sftp.on('READ', (reqid, h, offset, length) =>
    guard(reqid, () => {
      const buffer = Buffer.alloc(length);
      const n = readSync(files.get(id(h))!, buffer, 0, length, offset);
      if (n === 0) sftp.status(reqid, STATUS_CODE.EOF);
      else sftp.data(reqid, buffer.subarray(0, n));
    }),
  );
  sftp.on('WRITE', (reqid, h, offset, data) =>
    guard(reqid, () => {
      writeSync(files.get(id(h))!, data, 0, data.length, offset);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('CLOSE', (reqid, h) => {
    const fd = files.get(id(h));
    if (fd !== undefined) closeSync(fd);
    files.delete(id(h));
    dirs.delete(id(h));
    sftp.status(reqid, STATUS_CODE.OK);
  });
  sftp.on('FSTAT', (reqid, h) => guard(reqid, () => sftp.attrs(reqid, attrsOf(fstatSync(files.get(id(h))!)))));
  for (const event of ['STAT', 'LSTAT'] as const) {
    sftp.on(event, (reqid: number, path: string) => guard(reqid, () => sftp.attrs(reqid, attrsOf(statSync(path)))));
  }
  sftp.on('REALPATH', (reqid, path) =>
    sftp.name(reqid, [{ filename: path === '.' ? process.cwd() : path, longname: '', attrs: {} as never }]),
  );
  sftp.on('MKDIR', (reqid, path) => guard(reqid, () => (mkdirSync(path), sftp.status(reqid, STATUS_CODE.OK))));
  sftp.on('OPENDIR', (reqid, path) =>
    guard(reqid, () => {
      statSync(path);
      dirs.set(++next, { path, done: false });
      sftp.handle(reqid, handle(next));
    }),
  );
  sftp.on('READDIR', (reqid, h) => {
    const dir = dirs.get(id(h));
    if (!dir || dir.done) return sftp.status(reqid, STATUS_CODE.EOF);
    dir.done = true;
    const names = readdirSync(dir.path).map((name) => ({
      filename: name,
      longname: name,
      attrs: attrsOf(statSync(`${dir.path}/${name}`)),
    }));
    sftp.name(reqid, names);
  });
}

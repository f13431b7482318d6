// The agent's SSH server with ssh2's client, over a real socket: a terminal whose size follows
// window-change, commands with their output and exit status, SFTP both ways, and authentication
// only for the IT member the stream's token names.
import './helpers/quiet-home.js';
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, SFTPWrapper } from 'ssh2';
import { loadOrCreateHostKey } from '../src/agent/shell/host-key.js';
import { sshHostKeyFingerprint } from '../src/protocol/index.js';
import { ChannelOutput, IT_EMAIL, connectClient, execOn, startShellServer } from './helpers/shell-server.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

t.test('the host key is made once, kept 0600, and the client sees exactly it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rac-hostkey-'));
  const first = loadOrCreateHostKey(dir);
  t.equal(statSync(first.file).mode & 0o777, 0o600);
  t.same(loadOrCreateHostKey(dir), first, 'the same key the second time');
  t.equal(first.fingerprint, sshHostKeyFingerprint(first.publicLine));
  const running = await startShellServer();
  t.teardown(running.close);
  let seen = '';
  const client = await connectClient(running.port, { hostVerifier: (key: Buffer) => ((seen = key.toString('base64')), true) });
  client.end();
  t.equal(`ssh-ed25519 ${seen}`, running.hostKey.publicLine);
});

t.test('every generated host key reads back (ssh2 sometimes writes one its parser refuses)', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rac-hostkeys-'));
  let fresh = 0;
  for (let i = 0; i < 600; i++) {
    const dir = join(root, String(i));
    const made = loadOrCreateHostKey(dir);
    if (loadOrCreateHostKey(dir).publicLine === made.publicLine) fresh++;
  }
  t.equal(fresh, 600);
});

t.test('exec: stdout, stderr, stdin and the exit status come back', async (t) => {
  const running = await startShellServer();
  t.teardown(running.close);
  const client = await connectClient(running.port);
  t.teardown(() => client.end());
  const r = await execOn(client, 'echo out; echo err >&2; exit 7');
  t.equal(r.stdout.toString(), 'out\n');
  t.equal(r.stderr, 'err\n');
  t.equal(r.code, 7);
  const input = randomBytes(300_000);
  const cat = await execOn(client, 'cat', input);
  t.equal(sha256(cat.stdout), sha256(input), 'binary stdin comes back through cat unchanged');
  t.equal(cat.code, 0);
  const killed = await execOn(client, 'kill -TERM $$');
  t.equal(killed.signal, 'SIGTERM', 'a command ended by a signal reports the signal');
  t.match(running.lines.join('\n'), /Jane Doe ran: echo out; echo err >&2; exit 7/);
});

t.test('a command line is shown to the customer terminal-safe', async (t) => {
  const running = await startShellServer();
  t.teardown(running.close);
  const client = await connectClient(running.port);
  t.teardown(() => client.end());
  await execOn(client, 'true \x1b]0;pwned\x07');
  const line = running.lines.find((l) => l.includes('ran: true'));
  t.ok(line, 'the command is logged');
  t.notOk(line?.includes('\x1b'), 'no escape character reaches the customer terminal');
});

t.test('shell on a PTY: tput cols follows window-change', async (t) => {
  const running = await startShellServer();
  t.teardown(running.close);
  const client = await connectClient(running.port);
  t.teardown(() => client.end());
  const channel = await new Promise<import('ssh2').ClientChannel>((resolve, reject) =>
    client.shell({ term: 'xterm', cols: 80, rows: 24 }, (err, ch) => (err ? reject(err) : resolve(ch))),
  );
  const out = new ChannelOutput(channel);
  channel.write('tput cols; tty\n');
  await out.waitFor(/\r80\r\n\/dev\/pts\/\d+/);
  channel.setWindow(30, 132, 0, 0);
  channel.write('tput cols\n');
  await out.waitFor(/\r132\r\n/);
  const exited = new Promise<number>((resolve) => channel.on('exit', (code: number) => resolve(code)));
  channel.write('exit 3\n');
  t.equal(await exited, 3, "the shell's exit status comes back");
  t.match(running.lines.join('\n'), /Jane Doe opened a terminal\./);
});

t.test('exec with a PTY (ssh -t) runs the command on a terminal of the asked size', async (t) => {
  const running = await startShellServer();
  t.teardown(running.close);
  const client = await connectClient(running.port);
  t.teardown(() => client.end());
  const channel = await new Promise<import('ssh2').ClientChannel>((resolve, reject) =>
    client.exec('tput cols; tty; exit 4', { pty: { term: 'xterm', cols: 101, rows: 20 } }, (err, ch) => (err ? reject(err) : resolve(ch))),
  );
  const out = new ChannelOutput(channel);
  const exited = new Promise<number>((resolve) => channel.on('exit', (code: number) => resolve(code)));
  t.equal(await exited, 4);
  await out.waitFor(/101\r\n\/dev\/pts\/\d+/);
});

t.test('without node-pty the shell runs on pipes and says so', async (t) => {
  const running = await startShellServer({ loadPty: async () => new Error('node-pty cannot be loaded (test)') });
  t.teardown(running.close);
  const client = await connectClient(running.port);
  t.teardown(() => client.end());
  const channel = await new Promise<import('ssh2').ClientChannel>((resolve, reject) =>
    client.shell({ term: 'xterm', cols: 80, rows: 24 }, (err, ch) => (err ? reject(err) : resolve(ch))),
  );
  const out = new ChannelOutput(channel);
  await out.waitFor(/runs without a terminal/);
  channel.write('echo piped-$((6*7))\n');
  await out.waitFor(/piped-42/);
  channel.end('exit\n');
  t.match(running.lines.join('\n'), /without a PTY/);
});

function sftpOf(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}

t.test('sftp: put and get a file (sha256 equal), list, rename, remove', async (t) => {
  const running = await startShellServer();
  t.teardown(running.close);
  const client = await connectClient(running.port);
  t.teardown(() => client.end());
  const sftp = await sftpOf(client);
  const dir = mkdtempSync(join(tmpdir(), 'rac-sftp-'));
  const local = join(dir, 'local.bin');
  const content = randomBytes(3_000_000);
  writeFileSync(local, content);
  const remote = join(dir, 'sub', 'report.pdf');
  await new Promise<void>((resolve, reject) => sftp.mkdir(join(dir, 'sub'), (err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve, reject) => sftp.fastPut(local, remote, (err) => (err ? reject(err) : resolve())));
  t.equal(sha256(readFileSync(remote)), sha256(content), 'the uploaded file is the same');
  const back = join(dir, 'back.bin');
  await new Promise<void>((resolve, reject) => sftp.fastGet(remote, back, (err) => (err ? reject(err) : resolve())));
  t.equal(sha256(readFileSync(back)), sha256(content), 'the downloaded file is the same');
  const names = await new Promise<string[]>((resolve, reject) =>
    sftp.readdir(join(dir, 'sub'), (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))),
  );
  t.same(names, ['report.pdf']);
  const renamed = join(dir, 'sub', 'renamed.pdf');
  await new Promise<void>((resolve, reject) => sftp.rename(remote, renamed, (err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve, reject) => sftp.unlink(renamed, (err) => (err ? reject(err) : resolve())));
  const missing = await new Promise<(Error & { code?: number }) | undefined>((resolve) =>
    sftp.stat(renamed, (err) => resolve(err ?? undefined)),
  );
  t.equal(missing?.code, 2, 'a removed file is SSH_FX_NO_SUCH_FILE');
  const log = running.lines.join('\n');
  t.match(log, /Jane Doe copied report\.pdf \(3\.0 MB\) to .*sub/);
  t.match(log, /Jane Doe copied report\.pdf \(3\.0 MB\) from .*sub/);
  t.match(log, /Jane Doe deleted .*renamed\.pdf/);
});

t.test('authentication: only the IT member the token names, with none or the token as password', async (t) => {
  const running = await startShellServer();
  t.teardown(running.close);
  const viaNone = await connectClient(running.port);
  viaNone.end();
  const viaPassword = await connectClient(running.port, { password: running.grant.token });
  viaPassword.end();
  await t.rejects(connectClient(running.port, { username: 'mallory@example.com' }), /authentication methods failed/);
  await t.rejects(
    connectClient(running.port, { username: IT_EMAIL, password: 'guess', tryKeyboard: false, authHandler: ['password'] }),
    /authentication methods failed/,
  );
});

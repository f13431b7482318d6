// `rac shell` and `rac cp` end to end: a real `rac serve`, a real `rac agent --code --allow-shell`
// on Xvfb, the IT member's real `rac` commands (spawned, as a sysadmin runs them): a command's
// output and exit status, an interactive shell in tmux that follows a resize, 50 MB both ways with
// the same sha256, and the refusals (no --allow-shell, the customer says no) as exit code 3.
import './helpers/quiet-home.js';
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOWNLOAD_CHANNELS } from '../src/client/sftp-pool.js';
import { RAC_BIN, login, startBrokerProcess } from './helpers/broker-process.js';
import { loggedInEnv, spawnRac } from './helpers/cli.js';
import { waitUntil } from './helpers/patience.js';
import { createSession, startAgent } from './helpers/session-viewer.js';
import { Tmux } from './helpers/viewer-tmux.js';
import { startXvfb } from './helpers/xvfb.js';

const xvfb = await startXvfb();
t.teardown(() => xvfb.stop());
const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const token = await login(broker.api);
const env = await loggedInEnv(broker.url);

/** A session with a customer's agent that allowed the shell (--yes answers both questions). */
async function sessionWithShell(t: Test, extra: string[] = ['--allow-shell', '--yes']) {
  const session = await createSession(broker.api, token);
  const agent = startAgent(['--code', session.session_code, '--server', broker.url, ...extra], xvfb.env);
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/waiting for your IT contact/);
  return { code: session.session_code, agent };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

t.test('rac shell CODE -- command: its output, its exit status, the host key shown once', async (t) => {
  const { code, agent } = await sessionWithShell(t);
  const uname = await spawnRac(['shell', code, '--', 'uname', '-a'], { env });
  t.equal(uname.code, 0, uname.stderr);
  t.equal(uname.stdout, execFileSync('uname', ['-a'], { encoding: 'utf8' }), "the customer's uname -a (the same machine here)");
  const shown = /SSH host key (SHA256:[A-Za-z0-9+/]{43})/.exec(uname.stderr);
  t.ok(shown, 'the fingerprint is printed the first time');
  t.match(agent.stderr(), shown![1]!, "the customer's terminal shows the same fingerprint");
  const seven = await spawnRac(['shell', code, '--', 'sh', '-c', 'exit 7'], { env });
  t.equal(seven.code, 7, 'the remote exit status is rac’s');
  t.notMatch(seven.stderr, /SSH host key/, 'a key already shown is not shown again');
  const split = await spawnRac(['shell', code, '--', 'echo out; echo err >&2'], { env, stdin: '' });
  t.equal(split.stdout, 'out\n');
  t.equal(split.stderr, 'err\n', 'stderr stays apart');
  await agent.waitFor(/uname -a/);
});

t.test('an interactive rac shell in tmux: typing, and a resize the remote sees', async (t) => {
  const { code } = await sessionWithShell(t);
  const tmux = new Tmux(100, 30);
  t.teardown(() => tmux.kill());
  tmux.start(`${process.execPath} ${RAC_BIN} shell ${code}; echo "[exit $?]"; sleep 600`, {
    HOME: env.HOME!,
    XDG_CONFIG_HOME: env.XDG_CONFIG_HOME!,
    TERM: 'xterm-256color',
  });
  const screen = () => tmux.capture(false);
  tmux.send('echo hi-$((40+2))', true);
  tmux.send('Enter');
  await waitUntil('the echo', () => /^hi-42\s*$/m.test(screen()));
  tmux.send('tput cols', true);
  tmux.send('Enter');
  await waitUntil('100 columns', () => /^100\s*$/m.test(screen()));
  tmux.tmux('resize-window', '-t', 'main', '-x', '120', '-y', '30');
  tmux.send('clear; tput cols', true);
  tmux.send('Enter');
  await waitUntil('120 columns after the resize', () => /^120\s*$/m.test(screen()));
  tmux.send('exit 5', true);
  tmux.send('Enter');
  await waitUntil('the exit', () => /\[exit 5\]/.test(screen()));
  t.pass('echo, tput cols before and after a resize, and the exit status');
});

t.test('rac cp: 50 MB there and back, the same sha256', async (t) => {
  const { code } = await sessionWithShell(t);
  const dir = mkdtempSync(join(tmpdir(), 'rac-cp-e2e-'));
  const original = join(dir, 'original.bin');
  writeFileSync(original, randomBytes(50 * 1024 * 1024));
  const up = await spawnRac(['cp', original, `${code}:${join(dir, 'uploaded.bin')}`], { env });
  t.equal(up.code, 0, up.stderr);
  t.equal(sha256(join(dir, 'uploaded.bin')), sha256(original), 'uploaded intact');
  const down = await spawnRac(['cp', `${code}:${join(dir, 'uploaded.bin')}`, join(dir, 'downloaded.bin')], { env });
  t.equal(down.code, 0, down.stderr);
  t.equal(sha256(join(dir, 'downloaded.bin')), sha256(original), 'downloaded intact');
  const missing = await spawnRac(['cp', `${code}:${join(dir, 'nothing-here')}`, dir], { env });
  t.equal(missing.code, 1);
  t.match(missing.stderr, /does not exist: check the path/);
});

/** How many of the process's open file descriptors are `path`. */
function openCount(pid: number, path: string): number {
  const fds = readdirSync(`/proc/${pid}/fd`);
  return fds.filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
    } catch {
      return false; // closed since the listing
    }
  }).length;
}

t.test('rac cp download: the file is open on every SFTP channel, and Ctrl-C closes them all', async (t) => {
  const { code, agent } = await sessionWithShell(t);
  const dir = mkdtempSync(join(tmpdir(), 'rac-cp-sigint-'));
  const source = join(dir, 'source.bin');
  writeFileSync(source, randomBytes(1024 * 1024));
  // A FIFO nobody reads: opening it for writing blocks, so the copy holds the source open until Ctrl-C.
  const stuck = join(dir, 'stuck');
  execFileSync('mkfifo', [stuck]);
  const cp = spawn(process.execPath, [RAC_BIN, 'cp', `${code}:${source}`, stuck], { env, stdio: 'ignore' });
  const exited = new Promise((resolve) => cp.once('exit', resolve));
  const pid = agent.process.pid!;
  await waitUntil('the agent holds the source open on every channel', () => openCount(pid, source) === DOWNLOAD_CHANNELS);
  cp.kill('SIGINT');
  await exited;
  await waitUntil('the agent closed every handle of the source', () => openCount(pid, source) === 0);
  t.pass(`open ${DOWNLOAD_CHANNELS} times during the copy, closed after Ctrl-C`);
});

t.test('refused: no --allow-shell, or the customer answers no: a clear message and exit 3', async (t) => {
  const { code } = await sessionWithShell(t, ['--yes']);
  for (const args of [
    ['shell', code, '--', 'true'],
    ['cp', `${code}:x`, tmpdir()],
  ]) {
    const refused = await spawnRac(args, { env });
    t.equal(refused.code, 3, `rac ${args[0]}: exit 3`);
    t.match(
      refused.stderr,
      /does not allow a terminal \(it was started without --allow-shell\): ask the customer to start rac agent with --allow-shell/,
      'says why and what to ask the customer',
    );
  }

  const session = await createSession(broker.api, token);
  const agent = startAgent(['--code', session.session_code, '--server', broker.url, '--allow-shell'], xvfb.env, { viaPty: true });
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/waiting for your IT contact/);
  const shell = spawnRac(['shell', session.session_code, '--', 'true'], { env });
  await agent.waitFor(/open a terminal and transfer files\? \[y\/N\] /);
  agent.process.stdin!.write('n\r');
  const declined = await shell;
  t.equal(declined.code, 3, 'exit 3 when the customer says no');
  t.match(declined.stderr, /did not allow/);
});

t.test('rac view: Ctrl-] then s opens rac shell in a new tmux window', async (t) => {
  const { code } = await sessionWithShell(t);
  const tmux = new Tmux(100, 30);
  t.teardown(() => tmux.kill());
  tmux.start(`${process.execPath} ${RAC_BIN} view ${code} --graphics blocks`, {
    RAC_SERVER: broker.url,
    RAC_TOKEN: token,
    TERM: 'xterm-256color',
    XDG_CONFIG_HOME: env.XDG_CONFIG_HOME!,
  });
  await waitUntil('the picture', () => tmux.capture().includes('38;2;'));
  tmux.send('C-]');
  await waitUntil('viewer mode', () => tmux.capture(false).includes('s shell'));
  tmux.send('s');
  await waitUntil('a second window', () => tmux.tmux('list-windows', '-F', '#{window_name}').includes(`rac shell ${code}`));
  tmux.send('echo in-the-$((1+1))nd-window', true);
  tmux.send('Enter');
  await waitUntil('the shell answering in the new window', () => /^in-the-2nd-window\s*$/m.test(tmux.capture(false)));
  t.equal(tmux.tmux('list-windows', '-F', '#{window_name}').trim().split('\n').length, 2, 'the viewer stays in its own window');
});

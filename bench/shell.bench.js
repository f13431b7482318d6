// `rac cp` of a 200 MB file through a real `rac serve` on loopback (the IT member's rac, the broker's
// byte pipe, the customer's `rac agent --allow-shell`) beside `scp` of the same file to a throwaway
// OpenSSH sshd on loopback: MB/s and CPU seconds of each, both directions, in the same run.
// CPU: the client's own (user + sys of the command and its children); for rac also the broker's
// and the agent's (from /proc), for scp sshd's (its finished children: the connection's sshd and
// sftp-server), which do the same work. On a busy machine compare CPU: MB/s there follows the load.
// Also OpenSSH's scp through `rac tunnel` as its ProxyCommand (OpenSSH's client, rac's tunnel,
// broker and agent), the other way the issue measures rac's path.
// Each rac copy runs right beside its scp copy; BENCH_SHELL_ROUNDS repeats the six and prints the
// median ratios. First, the start-up: `rac --version`'s CPU beside bare node's.
// Prints, never asserts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './helpers.js';

const RAC = fileURLToPath(new URL('../bin/rac.js', import.meta.url));
const MEGABYTES = Number(process.env.BENCH_SHELL_MB ?? 200);
// BENCH_SHELL_ROUNDS=N: N rounds of the four copies, and the median ratios (figures are noisy here).
const ROUNDS = Math.max(1, Number(process.env.BENCH_SHELL_ROUNDS ?? 1));
const dir = mkdtempSync(join(tmpdir(), 'rac-bench-shell-'));
const children = [];
// BENCH_SHELL_PROFILE=DIR: every rac process (client, broker, agent) writes a V8 CPU profile there.
const PROFILE_DIR = process.env.BENCH_SHELL_PROFILE;
const NODE_FLAGS = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];

function start(command, args, env, ready) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  return new Promise((resolve, reject) => {
    const check = (d) => {
      text += d;
      const value = ready(text);
      if (value !== undefined) resolve({ child, value });
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', (code) => reject(new Error(`${command} exited ${code}: ${text}`)));
  });
}

/** Runs a command to its end under bash's `time`: wall and CPU seconds (itself and its children). */
function timed(command, env = {}) {
  const result = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; time ( ${command} 2>/dev/null )`], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  const [wall, user, sys] = result.stderr.trim().split('\n').pop().split(' ').map(Number);
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr}`);
  return { wall, cpu: user + sys };
}

async function startRac() {
  let display = process.env.DISPLAY;
  if (!display) {
    // The agent captures a screen even when only the shell is used: a private Xvfb.
    const number = 90 + Math.floor(Math.random() * 400);
    display = `:${number}`;
    children.push(spawn('Xvfb', [display, '-screen', '0', '1280x720x24', '-nolisten', 'tcp'], { stdio: 'ignore' }));
    while (!existsSync(`/tmp/.X11-unix/X${number}`)) await new Promise((r) => setTimeout(r, 100));
  }
  const broker = await start(
    process.execPath,
    [...NODE_FLAGS, RAC, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'broker'), '--udp-ports', '47100-47109'],
    { RAC_ADMIN_PASSWORD: 'bench-password' },
    (text) => /listening on http:\/\/[^:]+:(\d+)/.exec(text)?.[1],
  );
  const url = `http://127.0.0.1:${broker.value}`;
  const post = async (path, body, token) =>
    (
      await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(body),
      })
    ).json();
  const { access_token: token } = await post('/api/auth/login', { email: 'admin@localhost', password: 'bench-password' });
  const session = await post('/api/sessions', {}, token);
  const agent = await start(
    process.execPath,
    [...NODE_FLAGS, RAC, 'agent', '--code', session.session_code, '--server', url, '--allow-shell', '--yes', '--no-openctrol'],
    { DISPLAY: display, XDG_CONFIG_HOME: join(dir, 'agent-config') },
    (text) => (/waiting for your IT contact/.test(text) ? true : undefined),
  );
  return {
    code: session.session_code,
    env: { RAC_SERVER: url, RAC_TOKEN: token, XDG_CONFIG_HOME: join(dir, 'it-config') },
    pids: [broker.child.pid, agent.child.pid],
  };
}

async function startSshd() {
  const keys = join(dir, 'ssh');
  mkdirSync(keys);
  mkdirSync('/run/sshd', { recursive: true });
  for (const name of ['host', 'client']) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, name)]);
  writeFileSync(join(keys, 'authorized_keys'), readFileSync(join(keys, 'client.pub')));
  chmodSync(join(keys, 'authorized_keys'), 0o600);
  const port = 47200 + Math.floor(Math.random() * 500);
  const config = join(keys, 'sshd_config');
  writeFileSync(
    config,
    [
      `HostKey ${join(keys, 'host')}`,
      `AuthorizedKeysFile ${join(keys, 'authorized_keys')}`,
      `PidFile ${join(keys, 'sshd.pid')}`,
      'ListenAddress 127.0.0.1',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const sshd = await start('/usr/sbin/sshd', ['-D', '-e', '-f', config, '-p', String(port)], {}, (text) =>
    /Server listening/.test(text) ? true : undefined,
  );
  const ssh = `-i ${join(keys, 'client')} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
  return { port, ssh, user: process.env.USER || 'root', pid: sshd.child.pid };
}

/** An ssh_config that reaches the session's agent through `rac tunnel`, trusting the key it prints. */
function tunnelConfig(rac) {
  const keys = spawnSync(process.execPath, [RAC, 'tunnel', '--print-host-key', rac.code], {
    env: { ...process.env, ...rac.env },
    encoding: 'utf8',
  });
  if (keys.status !== 0) throw new Error(`rac tunnel --print-host-key failed: ${keys.stderr}`);
  const knownHosts = join(dir, 'tunnel_known_hosts');
  writeFileSync(knownHosts, keys.stdout);
  const config = join(dir, 'tunnel_ssh_config');
  writeFileSync(
    config,
    [
      `Host ${rac.code}`,
      `  ProxyCommand ${process.execPath} ${RAC} tunnel --quiet %h`,
      '  User admin@localhost',
      `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '',
    ].join('\n'),
  );
  return config;
}

function row(name, bytes, { wall, cpu }, serverCpu) {
  const mbps = bytes / 1e6 / wall;
  const server = serverCpu === undefined ? '' : `  server CPU ${serverCpu.toFixed(2)} s`;
  process.stdout.write(
    `${name.padEnd(24)} ${mbps.toFixed(1).padStart(7)} MB/s  ${wall.toFixed(2).padStart(6)} s  client CPU ${cpu.toFixed(2)} s${server}\n`,
  );
  return { mbps, cpu: cpu + (serverCpu ?? 0) };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

/** Start-up: `rac --version` (no command loaded) beside bare node, best of three (least disturbed). */
function startUp() {
  const best = (command) => [1, 2, 3].map(() => timed(command)).reduce((a, b) => (b.cpu < a.cpu ? b : a));
  const rac = best(`${process.execPath} ${RAC} --version`);
  const bare = best(`${process.execPath} -e 0`);
  process.stdout.write(`start-up: rac --version ${rac.cpu.toFixed(2)} s CPU, bare node ${bare.cpu.toFixed(2)} s CPU\n`);
}

async function main() {
  if (process.getuid?.() !== 0) process.stderr.write('not root: the throwaway sshd may not start\n');
  const file = join(dir, 'payload.bin');
  writeFileSync(file, randomBytes(MEGABYTES * 1024 * 1024));
  const bytes = MEGABYTES * 1024 * 1024;
  process.stdout.write(`${MEGABYTES} MiB file, loopback, ${ROUNDS} round(s)\n`);
  startUp();

  const rac = await startRac();
  const sshd = await startSshd();
  const serverCpu = () => rac.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const racCp = (from, to) => `${process.execPath} ${NODE_FLAGS.join(' ')} ${RAC} cp ${from} ${to}`;
  // A first small copy: the host key is shown and the JIT is warm, as for a sysadmin's second copy.
  // Its time is what every copy pays before the first byte: start-up, login, tunnel, SSH handshake.
  const small = timed(racCp(join(RAC, '..', 'rac.js'), `${rac.code}:${join(dir, 'warm.js')}`), rac.env);
  process.stdout.write(`rac cp of a small file  ${small.wall.toFixed(2).padStart(14)} s  client CPU ${small.cpu.toFixed(2)} s\n`);
  /** One copy through rac's broker and agent, made by `command(from, to)`; the agent's and broker's CPU counted. */
  const throughRac = (command) => (name, from, to) => {
    rmSync(to.replace(/^[0-9]+:/, ''), { force: true });
    const before = serverCpu();
    return row(name, bytes, timed(command(from, to), rac.env), serverCpu() - before);
  };
  const racRun = throughRac(racCp);
  const viaTunnel = tunnelConfig(rac);
  const tunnelRun = throughRac((from, to) => `scp -q -F ${viaTunnel} ${from} ${to}`);

  const scp = (from, to) => `scp -q ${sshd.ssh} -P ${sshd.port} ${from} ${to}`;
  // A connection's sshd and sftp-server count once sshd has reaped them, a moment after scp exits.
  const sshdCpu = async () => {
    const children = `/proc/${sshd.pid}/task/${sshd.pid}/children`;
    while (readFileSync(children, 'utf8').trim()) await new Promise((r) => setTimeout(r, 20));
    return cpuSeconds(sshd.pid, true);
  };
  const scpRun = async (name, from, to) => {
    const before = await sshdCpu();
    const time = timed(scp(from, to));
    return row(name, bytes, time, (await sshdCpu()) - before);
  };
  const remote = (path) => `${sshd.user}@127.0.0.1:${path}`;

  // Each rac copy right beside the scp copy it is compared with: on a shared machine the load
  // changes within seconds, so a ratio of two neighbours is what means something.
  const ratios = { up: [], down: [], tunnelUp: [], tunnelDown: [] };
  const percent = (rac, scp) => (rac.mbps / scp.mbps) * 100;
  const cpu = (rac, scp) => `${rac.cpu.toFixed(2)} s vs ${scp.cpu.toFixed(2)} s`;
  for (let round = 1; round <= ROUNDS; round++) {
    const racUp = racRun('rac cp upload', file, `${rac.code}:${join(dir, 'rac-up.bin')}`);
    const scpUp = await scpRun('scp upload', file, remote(join(dir, 'scp-up.bin')));
    const racDown = racRun('rac cp download', `${rac.code}:${file}`, join(dir, 'rac-down.bin'));
    const scpDown = await scpRun('scp download', remote(file), join(dir, 'scp-down.bin'));
    const tunnelUp = tunnelRun('scp via rac tunnel up', file, `${rac.code}:${join(dir, 'tunnel-up.bin')}`);
    const tunnelDown = tunnelRun('scp via rac tunnel down', `${rac.code}:${file}`, join(dir, 'tunnel-down.bin'));
    ratios.up.push(percent(racUp, scpUp));
    ratios.down.push(percent(racDown, scpDown));
    ratios.tunnelUp.push(percent(tunnelUp, scpUp));
    ratios.tunnelDown.push(percent(tunnelDown, scpDown));
    process.stdout.write(
      `rac cp / scp: upload ${ratios.up.at(-1).toFixed(0)} %, download ${ratios.down.at(-1).toFixed(0)} % (target ≥ 70 %)\n` +
        `scp via rac tunnel / scp: upload ${ratios.tunnelUp.at(-1).toFixed(0)} %, download ${ratios.tunnelDown.at(-1).toFixed(0)} %\n` +
        `all CPU, rac cp vs scp: upload ${cpu(racUp, scpUp)}, download ${cpu(racDown, scpDown)}\n` +
        `all CPU, scp via rac tunnel vs scp: upload ${cpu(tunnelUp, scpUp)}, download ${cpu(tunnelDown, scpDown)}\n`,
    );
  }
  if (ROUNDS > 1) {
    process.stdout.write(
      `median of ${ROUNDS} rounds, rac cp / scp: upload ${median(ratios.up).toFixed(0)} %, download ${median(ratios.down).toFixed(0)} %; ` +
        `scp via rac tunnel / scp: upload ${median(ratios.tunnelUp).toFixed(0)} %, download ${median(ratios.tunnelDown).toFixed(0)} %\n`,
    );
  }
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

// End to end with the real parties: a `rac serve`, the customer's `rac agent --code --allow-shell
// --yes` on Xvfb, and OpenSSH's own clients reaching the agent through `rac tunnel` as their
// ProxyCommand, with the agent's host key from `rac tunnel --print-host-key` as the only known one.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { RAC_BIN, login, startBrokerProcess } from './helpers/broker-process.js';
import { loggedInEnv, rac, spawnCommand } from './helpers/cli.js';
import { createSession, startAgent } from './helpers/session-viewer.js';
import { ed25519HostKeyLine } from './helpers/tunnel-agent.js';
import { startXvfb } from './helpers/xvfb.js';
import { eventually } from './helpers/smtp-setup.js';

const xvfb = await startXvfb();
t.teardown(() => xvfb.stop());
const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const token = await login(broker.api);
const env = await loggedInEnv(broker.url);
const session = await createSession(broker.api, token);
const code = session.session_code;
const agentHome = mkdtempSync(join(tmpdir(), 'rac-customer-'));
const agent = startAgent(['--code', code, '--server', broker.url, '--allow-shell', '--yes'], {
  ...xvfb.env,
  HOME: agentHome,
  XDG_CONFIG_HOME: join(agentHome, '.config'),
});
t.teardown(() => agent.stop('SIGKILL'));
await agent.waitFor(/SHA256:[A-Za-z0-9+/]{43}/);

const dir = mkdtempSync(join(tmpdir(), 'rac-openssh-it-'));
// The agent offers its host key to the broker just after the broker welcomed it, which can be after
// it printed the fingerprint: ask until the broker has it.
let refusal = '';
const hostKey = await eventually(async () => {
  const asked = await rac(['tunnel', '--print-host-key', code], { env });
  refusal = asked.stderr;
  return asked.code === 0 ? asked : undefined;
}, 'the broker to know the agent host key').catch((err: Error) => {
  throw new Error(`${err.message}; rac tunnel --print-host-key said: ${refusal}`);
});
writeFileSync(join(dir, 'known_hosts'), hostKey.stdout);
const config = join(dir, 'ssh_config');
writeFileSync(
  config,
  [
    `Host ${code}`,
    `  ProxyCommand ${process.execPath} ${RAC_BIN} tunnel --quiet %h`,
    '  User admin@localhost',
    `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  LogLevel ERROR',
    '',
  ].join('\n'),
);
const ssh = (command: string, args: string[], stdin = '') => spawnCommand(command, args, { env, stdin });
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

t.test('the agent printed the fingerprint of the key --print-host-key gave', async (t) => {
  const blob = Buffer.from(hostKey.stdout.trim().split(' ')[2]!, 'base64');
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  // The code, and the address OpenSSH reads it as when its digits make one (what it looks up).
  t.match(hostKey.stdout, new RegExp(`^${code}(,[\\d.]+)? ssh-ed25519 AAAA\\S+\\n$`));
  t.ok(agent.stderr().includes(fingerprint), `the customer saw ${fingerprint}`);
});

t.test("ssh -o ProxyCommand='rac tunnel %h' runs a command, with its exit status", async (t) => {
  const r = await ssh('ssh', ['-F', config, code, 'uname -a; exit 7']);
  t.match(r.stdout, /^Linux /);
  t.equal(r.code, 7, "the remote command's exit status is ssh's");
});

t.test('a wrong host key is refused by ssh itself', async (t) => {
  const other = join(dir, 'wrong_known_hosts');
  writeFileSync(other, `${code} ${ed25519HostKeyLine()}\n`);
  const r = await ssh('ssh', ['-F', config, '-o', `UserKnownHostsFile=${other}`, code, 'true']);
  t.equal(r.code, 255);
  t.match(r.stderr, /host key|HOST IDENTIFICATION|verification failed/i);
});

t.test('sftp and rsync -e through the tunnel copy files both ways', async (t) => {
  const local = join(dir, 'files');
  mkdirSync(local);
  writeFileSync(join(local, 'up.bin'), randomBytes(3 * 1024 * 1024));
  const remote = join(agentHome, 'uploads');
  const batch = [
    `mkdir ${remote}`,
    `put ${join(local, 'up.bin')} ${remote}/up.bin`,
    `get ${remote}/up.bin ${join(local, 'down.bin')}`,
  ].join('\n');
  const sftp = await ssh('sftp', ['-F', config, '-b', '-', code], batch);
  t.equal(sftp.code, 0, sftp.stderr);
  t.equal(sha256(join(remote, 'up.bin')), sha256(join(local, 'up.bin')), 'put arrived on the customer side');
  t.equal(sha256(join(local, 'down.bin')), sha256(join(local, 'up.bin')), 'get came back');

  mkdirSync(join(local, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(local, 'tree', 'a.txt'), 'alpha\n');
  writeFileSync(join(local, 'tree', 'sub', 'b.bin'), randomBytes(200_000));
  const rsync = await ssh('rsync', ['-a', '-e', `ssh -F ${config}`, `${join(local, 'tree')}/`, `${code}:${join(agentHome, 'tree')}/`]);
  t.equal(rsync.code, 0, rsync.stderr);
  t.equal(readFileSync(join(agentHome, 'tree', 'a.txt'), 'utf8'), 'alpha\n');
  t.equal(sha256(join(agentHome, 'tree', 'sub', 'b.bin')), sha256(join(local, 'tree', 'sub', 'b.bin')));
});

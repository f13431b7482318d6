// OpenSSH's own clients against the agent's SSH server, through a ProxyCommand that bridges stdio
// (test/fixtures/ssh-over-stdio.js, as `rac tunnel` does): ssh with a strict known_hosts entry,
// sftp, scp (SFTP mode) and rsync over `exec` of `rsync --server`.
import './helpers/quiet-home.js';
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IT_EMAIL, type RunningShellServer, startShellServer } from './helpers/shell-server.js';

const FIXTURE = resolve('test/fixtures/ssh-over-stdio.js');
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** An ssh_config for host "customer": the fixture as ProxyCommand, the agent's key as the only known one. */
function sshConfig(running: RunningShellServer, dir: string, hostKey = running.hostKey.publicLine): string {
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `customer ${hostKey}\n`);
  const config = join(dir, 'ssh_config');
  writeFileSync(
    config,
    [
      'Host customer',
      `  ProxyCommand ${process.execPath} ${FIXTURE} ${running.port}`,
      `  User ${IT_EMAIL}`,
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  return config;
}

function run(command: string, args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

t.test('ssh runs a command and passes its exit status back; a wrong host key is refused', async (t) => {
  const running = await startShellServer();
  t.teardown(running.close);
  const dir = mkdtempSync(join(tmpdir(), 'rac-openssh-'));
  const config = sshConfig(running, dir);
  const r = await run('ssh', ['-F', config, 'customer', 'echo hello from $(whoami >/dev/null && echo agent); exit 5']);
  t.equal(r.stdout, 'hello from agent\n');
  t.equal(r.code, 5, "the remote command's exit status is ssh's");
  const other = mkdtempSync(join(tmpdir(), 'rac-openssh-'));
  const stranger = await startShellServer();
  t.teardown(stranger.close);
  const wrongKey = stranger.hostKey.publicLine;
  const refused = await run('ssh', ['-F', sshConfig(running, other, wrongKey), 'customer', 'true']);
  t.equal(refused.code, 255);
  t.match(refused.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
});

t.test('sftp and scp put and get files unchanged', async (t) => {
  const running = await startShellServer();
  t.teardown(running.close);
  const dir = mkdtempSync(join(tmpdir(), 'rac-openssh-'));
  const config = sshConfig(running, dir);
  const local = join(dir, 'local.bin');
  writeFileSync(local, randomBytes(1_500_000));
  const remoteDir = join(dir, 'remote');
  mkdirSync(remoteDir);
  const batch = [
    `put ${local} ${remoteDir}/up.bin`,
    `get ${remoteDir}/up.bin ${dir}/down.bin`,
    `ls -l ${remoteDir}`,
    `rename ${remoteDir}/up.bin ${remoteDir}/moved.bin`,
  ].join('\n');
  const r = await run('sftp', ['-F', config, '-b', '-', 'customer'], batch + '\n');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /up\.bin/);
  t.equal(sha256(join(remoteDir, 'moved.bin')), sha256(local));
  t.equal(sha256(join(dir, 'down.bin')), sha256(local));
  const scpUp = await run('scp', ['-F', config, '-q', local, `customer:${remoteDir}/scp.bin`]);
  t.equal(scpUp.code, 0, scpUp.stderr);
  t.equal(sha256(join(remoteDir, 'scp.bin')), sha256(local), 'the file scp uploaded is the same');
  const scpDown = await run('scp', ['-F', config, '-q', `customer:${remoteDir}/scp.bin`, join(dir, 'scp-back.bin')]);
  t.equal(scpDown.code, 0, scpDown.stderr);
  t.equal(sha256(join(dir, 'scp-back.bin')), sha256(local));
  t.match(running.lines.join('\n'), /Jane Doe copied up\.bin \(1\.5 MB\) to /);
});

t.test('rsync -e ssh copies a tree both ways', async (t) => {
  const running = await startShellServer();
  t.teardown(running.close);
  const dir = mkdtempSync(join(tmpdir(), 'rac-openssh-'));
  const config = sshConfig(running, dir);
  const source = join(dir, 'tree');
  mkdirSync(join(source, 'nested'), { recursive: true });
  writeFileSync(join(source, 'a.txt'), 'alpha\n');
  writeFileSync(join(source, 'nested', 'b.bin'), randomBytes(200_000));
  const ssh = `ssh -F ${config}`;
  const up = await run('rsync', ['-a', '-e', ssh, `${source}/`, `customer:${dir}/copy/`]);
  t.equal(up.code, 0, up.stderr);
  t.equal(sha256(join(dir, 'copy', 'nested', 'b.bin')), sha256(join(source, 'nested', 'b.bin')));
  const down = await run('rsync', ['-a', '-e', ssh, `customer:${dir}/copy/`, `${dir}/back/`]);
  t.equal(down.code, 0, down.stderr);
  t.equal(readFileSync(join(dir, 'back', 'a.txt'), 'utf8'), 'alpha\n');
  t.match(running.lines.join('\n'), /Jane Doe ran: rsync --server/);
});

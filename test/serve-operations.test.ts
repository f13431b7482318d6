// Running the broker for real: the systemd units `--print-systemd-unit` writes pass
// `systemd-analyze verify`, and `rac serve --check` passes on a good set-up and names what to fix
// on a bad one (data dir and secret file modes, a taken port, a TLS pair that does not match, an
// SMTP server that does not answer or refuses the login).
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { login, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, rac, serveCheck } from './helpers/cli.js';
import { configureSmtp, SMTP_PASSWORD, SMTP_USER } from './helpers/smtp-setup.js';
import { makeSelfSignedCert, startTestSmtpServer } from './helpers/smtp-server.js';
import { freePort } from './helpers/ports.js';
import { makeServerCertificate, makeTestCa } from './helpers/test-certificates.js';

const REPO_MAN = fileURLToPath(new URL('../man/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'rac-ops-'));

/** The repository's man pages where `man` looks (Documentation=man:… is checked by verify). */
const manPath = join(scratch, 'man');
mkdirSync(join(manPath, 'man1'), { recursive: true });
for (const page of readdirSync(REPO_MAN)) copyFileSync(join(REPO_MAN, page), join(manPath, 'man1', page));
const runtimeDir = join(scratch, 'run');
mkdirSync(runtimeDir, { mode: 0o700 });

async function verify(unit: string, name: string, user = false): Promise<{ code: number; output: string }> {
  const file = join(scratch, name);
  writeFileSync(file, unit);
  const args = ['verify', ...(user ? ['--user'] : []), file];
  const env = { ...process.env, MANPATH: manPath, XDG_RUNTIME_DIR: runtimeDir };
  try {
    const { stdout, stderr } = await promisify(execFile)('systemd-analyze', args, { env });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

t.test('the broker unit passes systemd-analyze verify, with the capability only for a low port', async (t) => {
  const env = isolatedEnv();
  const high = await rac(['serve', '--port', '8443', '--udp-ports', '50000-50100', '--print-systemd-unit'], { env });
  t.equal(high.code, 0, high.stderr);
  t.match(
    high.stdout,
    /^ExecStart=\S+node \S+\/bin\/rac\.js serve --host 0\.0\.0\.0 --port 8443 --data-dir \/var\/lib\/rac --udp-ports 50000-50100 /m,
  );
  for (const line of ['DynamicUser=yes', 'StateDirectory=rac', 'ProtectSystem=strict', 'PrivateTmp=yes', 'NoNewPrivileges=yes'])
    t.match(high.stdout, new RegExp(`^${line}$`, 'm'), line);
  t.match(high.stdout, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  t.match(high.stdout, /^SystemCallFilter=@system-service$/m);
  t.match(high.stdout, /^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$/m);
  t.notMatch(high.stdout, /AmbientCapabilities/, 'port 8443 needs no capability');
  const verified = await verify(high.stdout, 'rac.service');
  t.same(verified, { code: 0, output: '' }, 'systemd-analyze verify: no error, no warning');

  const low = await rac(['serve', '--port', '443', '--print-systemd-unit'], { env });
  t.match(low.stdout, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m, 'port 443 gets CAP_NET_BIND_SERVICE');
  t.match(low.stdout, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
  t.same(await verify(low.stdout, 'rac-low.service'), { code: 0, output: '' });
});

t.test('the broker unit reads its environment file; on PostgreSQL it needs it, and the URL stays out of the unit', async (t) => {
  const sqlite = await rac(['serve', '--port', '8443', '--print-systemd-unit'], { env: isolatedEnv() });
  t.equal(sqlite.code, 0, sqlite.stderr);
  t.match(sqlite.stdout, /^EnvironmentFile=-\/etc\/rac\/serve\.env$/m, 'SQLite: optional (RAC_ADMIN_PASSWORD may go there)');
  t.equal(sqlite.stderr, '', 'nothing to tell');

  const url = 'postgres://rac:Db-pa55word-do-not-leak@db.internal:5432/rac';
  for (const [how, args, env] of [
    ['RAC_DATABASE_URL', [], { RAC_DATABASE_URL: url }],
    ['--database', ['--database', url], {}],
  ] as const) {
    const node = await rac(['serve', '--port', '8443', '--node-id', 'relay1', ...args, '--print-systemd-unit'], {
      env: isolatedEnv(env),
    });
    t.equal(node.code, 0, node.stderr);
    t.match(node.stdout, /^EnvironmentFile=\/etc\/rac\/serve\.env$/m, `${how}: the file is required (no leading -)`);
    t.match(node.stdout, /^# \/etc\/rac\/serve\.env \(root, mode 0600\) must hold RAC_DATABASE_URL=/m, 'the unit says what goes there');
    t.notMatch(node.stdout, 'pa55word', 'the password is not in the unit');
    t.notMatch(node.stdout, '--database', 'nor the URL on the command line');
    t.match(node.stderr, 'create that file as root, mode 0600, with the line RAC_DATABASE_URL=<your URL>', 'stderr says what to do');
    t.notMatch(node.stderr, 'pa55word', 'and never repeats the URL');
    t.same(await verify(node.stdout, 'rac-node.service'), { code: 0, output: '' }, 'systemd-analyze verify: clean');
  }
});

t.test('the agent unit is a user unit that passes verify; a key on the command line is refused', async (t) => {
  const env = isolatedEnv();
  const unit = await rac(['agent', '--wol-mac', 'AA:BB:CC:DD:EE:FF', '--print-systemd-unit'], { env });
  t.equal(unit.code, 0, unit.stderr);
  t.match(unit.stdout, /a USER unit/);
  t.match(unit.stdout, /^WantedBy=graphical-session\.target$/m);
  t.match(unit.stdout, / agent --openctrol-port 44325 .*--wol-mac aa:bb:cc:dd:ee:ff /);
  t.same(await verify(unit.stdout, 'rac-agent.service', true), { code: 0, output: '' });

  const withKey = await rac(['agent', '--api-key', 'k'.repeat(32), '--print-systemd-unit'], { env });
  t.equal(withKey.code, 2);
  t.match(withKey.stderr, '--api-key would be written into the unit, readable by every user: use --api-key-file');
  t.notMatch(withKey.stdout, 'k'.repeat(32), 'and the key is not printed');
});

t.test('--check passes on a fresh data dir and on a valid TLS pair', async (t) => {
  const ca = makeTestCa();
  const pair = makeServerCertificate(ca, 'check');
  chmodSync(pair.key, 0o600);
  const result = await serveCheck(join(scratch, 'fresh'), ['--tls-cert', pair.cert, '--tls-key', pair.key]);
  t.equal(result.code, 0, result.stdout + result.stderr);
  t.notMatch(result.stdout, /✗/);
  t.match(result.stdout, /✓ data dir .*fresh: does not exist yet/);
  t.match(result.stdout, /✓ UDP ports \d+-\d+: all 8 free/);
  t.match(result.stdout, `✓ TLS certificate: CN=check, valid until`);
  t.match(result.stdout, pair.fingerprint256);
  t.match(result.stdout, '✓ SMTP: not configured');
  t.match(result.stderr, /all \d+ checks passed/);
});

t.test('--check fails, naming the fix, on loose modes, a taken port and a mismatched TLS pair', async (t) => {
  const dataDir = join(scratch, 'loose');
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755);
  writeFileSync(join(dataDir, 'jwt-secret.key'), 'x'.repeat(88), { mode: 0o644 });
  chmodSync(join(dataDir, 'jwt-secret.key'), 0o644);
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const port = (taken.address() as AddressInfo).port;
  const ca = makeTestCa();
  const one = makeServerCertificate(ca, 'one');
  const other = makeServerCertificate(ca, 'other');

  const result = await serveCheck(dataDir, ['--port', String(port), '--tls-cert', one.cert, '--tls-key', other.key]);
  t.equal(result.code, 1);
  t.match(result.stdout, `✗ data dir ${dataDir}: mode 755 lets other users in: chmod 700 ${dataDir}`);
  t.match(result.stdout, `✗ secret file ${join(dataDir, 'jwt-secret.key')}: mode 644 lets other users read it: chmod 600`);
  t.match(result.stdout, `✗ HTTP port 127.0.0.1:${port}: in use by another program: stop it or choose another --port`);
  t.match(result.stdout, `✗ TLS: ${other.key} is not the private key of the certificate in ${one.cert}: pass the matching pair`);
  t.match(result.stderr, /rac: 4 of \d+ checks failed: fix the lines marked ✗/);
});

t.test('--check logs in to the stored SMTP server without sending, and fails on a dead one', async (t) => {
  const smtp = await startTestSmtpServer({ cert: makeSelfSignedCert(), tls: 'plain', auth: { user: SMTP_USER, pass: SMTP_PASSWORD } });
  t.teardown(() => smtp.close());
  const broker = await startBrokerProcess();
  const token = await login(broker.api);
  await configureSmtp(broker.api, token, {
    smtp_port: smtp.port,
    security_type: 'NONE',
    username: SMTP_USER,
    password: SMTP_PASSWORD,
    require_auth: true,
  });
  const running = await serveCheck(broker.dataDir);
  t.equal(running.code, 1, 'a running broker holds its data dir');
  t.match(running.stdout, `✗ data dir lock: rac serve (pid ${broker.process.pid}) is running on ${broker.dataDir}`);
  await broker.stop();

  const loginsBefore = smtp.logins.length; // saving the settings tried them once already
  const good = await serveCheck(broker.dataDir);
  t.equal(good.code, 0, good.stdout + good.stderr);
  t.match(good.stdout, `✓ SMTP 127.0.0.1:${smtp.port} (NONE): connected, logged in as ${SMTP_USER}; no mail sent`);
  t.same(smtp.logins.slice(loginsBefore), [{ user: SMTP_USER, accepted: true }], 'it logged in once');
  t.equal(smtp.messages.length, 0, 'and sent nothing');
  t.notMatch(good.stdout + good.stderr, SMTP_PASSWORD, 'the password is never printed');

  const broker2 = await startBrokerProcess({ dataDir: broker.dataDir });
  await configureSmtp(broker2.api, await login(broker2.api), { smtp_port: await freePort(), security_type: 'NONE' });
  await broker2.stop();
  const dead = await serveCheck(broker.dataDir);
  t.equal(dead.code, 1);
  t.match(dead.stdout, /✗ SMTP 127\.0\.0\.1:\d+ \(NONE\): connect ECONNREFUSED .*: fix the settings with `rac admin smtp set`/);
});

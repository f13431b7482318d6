// Moving a one-machine broker onto PostgreSQL: `rac serve --migrate-from sqlite:DIR` copies its
// users, SMTP settings (the password sealed again, with the cluster's key) and live sessions in one
// go, refuses a database that already has data, and a node started under the printed id holds the
// sessions on their old ports. With --key-file the secrets in the database are sealed, and a node
// without the key cannot start.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { SecretBox } from '../src/broker/secret-box.js';
import type { Session } from '../src/protocol/broker-api.js';
import { call, login, randomUdpRange, serveArgs, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, rac, spawnRac } from './helpers/cli.js';
import { sharedPostgres } from './helpers/postgres.js';
import { configureSmtp } from './helpers/smtp-setup.js';

const SMTP_PASSWORD = 'smtp-password-to-carry-over';

async function rowsOf<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

// The old broker: SQLite, one tech user, SMTP with a password, one live session.
const udpPorts = randomUdpRange();
const old = await startBrokerProcess({ udpPorts });
const admin = await login(old.api);
await call(old.api, 'POST', '/users', {
  token: admin,
  body: { email: 'tech@example.com', password: 'tech-password-1', full_name: 'Tech', role: 'tech' },
});
await configureSmtp(old.api, admin, {
  smtp_port: 2525,
  security_type: 'NONE',
  username: 'mailer',
  password: SMTP_PASSWORD,
  require_auth: true,
});
const live = (await call<Session>(old.api, 'POST', '/sessions', { token: admin, body: { customer_name: 'Carl' } })).body;
await old.stop();

const database = await (await sharedPostgres()).createDatabase();
const keyFile = join(mkdtempSync(join(tmpdir(), 'rac-key-')), 'cluster.key');
const nodeDir = mkdtempSync(join(tmpdir(), 'rac-node-'));
const migrate = () =>
  spawnRac(
    [
      'serve',
      '--data-dir',
      nodeDir,
      '--database',
      database,
      '--key-file',
      keyFile,
      '--node-id',
      'node-m',
      '--migrate-from',
      `sqlite:${old.dataDir}`,
    ],
    { env: isolatedEnv() },
  );

t.test('the copy: what it says it copied is in the database, the SMTP password sealed with the new key', async (t) => {
  const copied = await migrate();
  t.equal(copied.code, 0, `the copy succeeds (${copied.stderr.trim()})`);
  t.equal(copied.stdout, 'users\t2\nsmtp_settings\t1\nlive_sessions\t1\n');
  t.match(copied.stderr, /--node-id node-m/, 'it says which node holds the sessions now');
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key file was created 0600');

  const secrets = await rowsOf<{ name: string; value: string; sealed: number }>(
    database,
    'SELECT name, value, sealed FROM broker_secrets ORDER BY name',
  );
  t.same(
    secrets.map((s) => [s.name, s.sealed]),
    [
      ['jwt', 1],
      ['smtp', 1],
    ],
    'both shared secrets are sealed at rest',
  );
  const keyBox = new SecretBox(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64'));
  const smtpKey = Buffer.from(keyBox.open(secrets.find((s) => s.name === 'smtp')!.value), 'base64');
  const [smtp] = await rowsOf<{ password: string }>(database, 'SELECT password FROM smtp_config');
  t.equal(new SecretBox(smtpKey).open(smtp!.password), SMTP_PASSWORD, "the SMTP password opens with the cluster's SMTP key");
  t.notMatch(JSON.stringify(await rowsOf(database, 'SELECT * FROM smtp_config')), SMTP_PASSWORD, 'and is not stored in clear');
});

t.test('a database that already has data is refused, and nothing is added', async (t) => {
  const again = await migrate();
  t.equal(again.code, 1);
  t.match(again.stderr, /already has users: --migrate-from copies into an empty database only/);
  t.same(await rowsOf(database, 'SELECT count(*)::int AS n FROM users'), [{ n: 2 }]);
});

t.test('the node named by the migration holds the sessions; logins carry over; no key file, no start', async (t) => {
  const node = await startBrokerProcess({
    dataDir: nodeDir,
    udpPorts,
    args: ['--database', database, '--key-file', keyFile, '--node-id', 'node-m'],
  });
  t.teardown(() => node.stop());
  const tech = await login(node.api, 'tech@example.com', 'tech-password-1');
  const sessions = await call<Session[]>(node.api, 'GET', '/sessions', { token: await login(node.api) });
  t.match(
    sessions.body,
    [{ id: live.id, session_code: live.session_code, udp_port: live.udp_port, status: 'pending' }],
    'the live session, same code and port',
  );
  t.ok(tech, 'the tech logs in with the old password');
  const smtp = await call<{ username: string }>(node.api, 'GET', '/smtp/config', { token: await login(node.api) });
  t.match(smtp.body, { smtp_port: 2525, username: 'mailer' });

  const keyless = await spawnRac(serveArgs({ dataDir: mkdtempSync(join(tmpdir(), 'rac-node-')), databaseUrl: database }), {
    env: isolatedEnv(),
  });
  t.not(keyless.code, 0);
  t.match(keyless.stderr, /sealed with a key file: start rac serve with --key-file/);
});

t.test('--key-file and --migrate-from without --database are refused before anything starts', async (t) => {
  const env = isolatedEnv();
  const keyed = await rac(['serve', '--port', '0', '--key-file', keyFile], { env });
  t.equal(keyed.code, 2);
  t.match(keyed.stderr, /--key-file seals the secrets kept in PostgreSQL: give --database URL/);
  const copying = await rac(['serve', '--port', '0', '--migrate-from', `sqlite:${old.dataDir}`], { env });
  t.equal(copying.code, 2);
  t.match(copying.stderr, /--migrate-from copies into PostgreSQL: give --database URL/);
});

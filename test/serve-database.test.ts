// rac serve --database: the engine named by URL (or RAC_DATABASE_URL), refused when it is not
// PostgreSQL, never printing a password; --check reports the engine and schema version and changes
// nothing; the backup route on PostgreSQL tells the admin to use pg_dump; a SQLite broker does not
// beat as a node of a cluster would.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { HEARTBEAT_INTERVAL_MS, NODE_DEAD_AFTER_MS } from '../src/broker/cluster/node-registry.js';
import { MIGRATIONS } from '../src/broker/sql/migrations.js';
import { openBrokerDatabase } from './helpers/broker-database.js';
import { call, login, serveArgs, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, rac, serveCheck } from './helpers/cli.js';
import { sharedPostgres } from './helpers/postgres.js';
import { waitUntil } from './helpers/patience.js';
import { freePort } from './helpers/ports.js';

const NEWEST = MIGRATIONS.length;

const scratch = () => mkdtempSync(join(tmpdir(), 'rac-db-'));

t.test('--check on SQLite: a missing file is not created; an existing one reports its version', async (t) => {
  const dataDir = scratch();
  const fresh = await serveCheck(dataDir);
  t.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
  t.match(fresh.stdout, `✓ database: SQLite ${join(dataDir, 'rac.db')}: not there yet; rac serve creates it (schema version ${NEWEST})`);
  t.notOk(existsSync(join(dataDir, 'rac.db')), 'the check created no database');

  const broker = await startBrokerProcess({ dataDir });
  await broker.stop();
  const after = await serveCheck(dataDir, [], isolatedEnv());
  t.match(after.stdout, `✓ database: SQLite ${join(dataDir, 'rac.db')}: schema version ${NEWEST} (current)`);
});

t.test('--check on PostgreSQL: empty, then current after a start; RAC_DATABASE_URL works like --database', async (t) => {
  const url = await (await sharedPostgres()).createDatabase();
  const empty = await serveCheck(scratch(), ['--database', url]);
  t.equal(empty.code, 0, empty.stdout + empty.stderr);
  t.match(empty.stdout, `✓ database: PostgreSQL ${url}: empty; rac serve creates the schema (version ${NEWEST})`);

  const broker = await startBrokerProcess({ args: ['--database', url] });
  // Each start-up line is its own write: the database line may come just after the listening line.
  const named = `database ${url} (PostgreSQL)`;
  await t.resolves(
    waitUntil('the database start-up line', () => broker.stderr().includes(named)),
    'the start-up lines name the database',
  );
  await broker.stop();
  const current = await serveCheck(scratch(), [], isolatedEnv({ RAC_DATABASE_URL: url }));
  t.equal(current.code, 0, current.stdout + current.stderr);
  t.match(current.stdout, `✓ database: PostgreSQL ${url}: schema version ${NEWEST} (current)`);
});

t.test('an unreachable PostgreSQL fails the check without printing the password', async (t) => {
  const url = `postgres://rac:s3cret-pass@127.0.0.1:${await freePort()}/rac`;
  const result = await serveCheck(scratch(), ['--database', url]);
  t.equal(result.code, 1);
  t.match(result.stdout, /✗ database: PostgreSQL postgres:\/\/rac:\*\*\*@127\.0\.0\.1:\d+\/rac: .*ECONNREFUSED.*: check the URL/);
  t.notMatch(result.stdout + result.stderr, 's3cret-pass', 'the password is never printed');

  const started = await rac(serveArgs({ dataDir: scratch(), databaseUrl: url }), { env: isolatedEnv() });
  t.not(started.code, 0, 'rac serve does not start without its database');
  t.match(
    started.stderr,
    /PostgreSQL at postgres:\/\/rac:\*\*\*@127\.0\.0\.1:\d+\/rac: .*ECONNREFUSED.*: check the URL/,
    'and says what to check',
  );
  t.notMatch(started.stderr, 's3cret-pass');
});

t.test('a URL of another engine is refused before anything starts, without repeating it', async (t) => {
  const dataDir = scratch();
  const result = await rac(serveArgs({ dataDir, databaseUrl: 'mysql://rac:s3cret-pass@db/rac' }), { env: isolatedEnv() });
  t.equal(result.code, 2);
  t.match(result.stderr, /--database is a mysql: URL: rac serve accepts postgres:\/\/USER:PASSWORD@HOST:PORT\/DATABASE/);
  t.notMatch(result.stderr, 's3cret-pass');
  t.notOk(existsSync(join(dataDir, 'rac.db')), 'no SQLite database was made instead');
});

t.test('on PostgreSQL the backup route says to use pg_dump', async (t) => {
  const broker = await startBrokerProcess({ args: ['--database', await (await sharedPostgres()).createDatabase()] });
  t.teardown(() => broker.stop());
  const refused = await call(broker.api, 'POST', '/admin/backup', { token: await login(broker.api), body: {} });
  t.equal(refused.status, 400);
  t.equal(refused.headers.get('x-rac-error'), 'RAC_BACKUP_POSTGRES');
  t.match(refused.body.detail, /back it up with pg_dump, and copy jwt-secret\.key and smtp-secret\.key/);
});

t.test('on SQLite the broker is the only node: no heartbeat, and an id it ran under before is not reported dead', async (t) => {
  const before = await startBrokerProcess({ args: ['--node-id', 'old-id'] });
  await before.stop();
  const broker = await startBrokerProcess({ dataDir: before.dataDir, udpPorts: before.udpPorts, args: ['--node-id', 'new-id'] });
  t.teardown(() => broker.stop());
  const db = await openBrokerDatabase(broker);
  t.teardown(() => db.close());
  const rowOf = () =>
    db.get<{ started_at: number; heartbeat_at: number }>('SELECT started_at, heartbeat_at FROM nodes WHERE id = ?', ['new-id']);
  const written = await rowOf();
  t.ok(written, "the node's row is written at the start");
  // Nothing happens to observe: the test lets the time pass in which a beating node would have
  // beaten twice and called old-id dead.
  const deadline = Number(written!.started_at) + NODE_DEAD_AFTER_MS + 2 * HEARTBEAT_INTERVAL_MS;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())));
  t.same(await rowOf(), written, 'the row was not beaten since');
  t.notMatch(broker.stderr(), /stopped beating/, 'old-id is not reported dead');
});

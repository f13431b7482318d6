// The data-access layer on both engines: placeholders, transactions that roll back, transactions
// that take turns on a rule (a count checked then raised), migrations (a database made by the
// previous release upgrades unchanged), and the URL choice.
import Database from 'better-sqlite3';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { MIGRATIONS, statementsFor } from '../src/broker/sql/migrations.js';
import { describeDatabaseUrl, openDatabase } from '../src/broker/sql/open-database.js';
import { toPostgresPlaceholders } from '../src/broker/sql/postgres-database.js';
import { type SqlDatabase, isUniqueViolation } from '../src/broker/sql/sql-database.js';
import { sharedPostgres } from './helpers/postgres.js';

const engines: Record<string, () => Promise<SqlDatabase>> = {
  sqlite: () => openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'rac-sql-')) }),
  postgres: async () => openDatabase({ dataDir: '', url: await (await sharedPostgres()).createDatabase() }),
};

t.teardown(async () => (await sharedPostgres()).stop());

t.test('? becomes $n outside string literals, quoted names and comments', async (t) => {
  t.equal(toPostgresPlaceholders('SELECT ? , ?'), 'SELECT $1 , $2');
  t.equal(toPostgresPlaceholders(`SELECT '?', "a?b", ? -- why?\n, ?`), `SELECT '?', "a?b", $1 -- why?\n, $2`);
  t.equal(toPostgresPlaceholders(`SELECT 'it''s ?', ?`), `SELECT 'it''s ?', $1`);
});

t.test('URLs: the password never shows; other engines are refused with what is accepted', async (t) => {
  t.equal(describeDatabaseUrl('postgres://rac:s3cret@db:5432/rac'), 'postgres://rac:***@db:5432/rac');
  await t.rejects(openDatabase({ dataDir: '', url: 'mysql://rac:s3cret@db/rac' }), {
    message: /^--database is a mysql: URL: rac serve accepts postgres:\/\/USER:PASSWORD@HOST:PORT\/DATABASE/,
  });
  const refused = await openDatabase({ dataDir: '', url: 'mysql://rac:s3cret@db/rac' }).catch((err: Error) => err.message);
  t.notMatch(refused, /s3cret/, 'the refusal does not repeat the password');
});

for (const [engine, open] of Object.entries(engines)) {
  t.test(`${engine}: the schema, statements and transactions`, async (t) => {
    const db = await open();
    t.teardown(() => db.close());
    t.equal(db.engine, engine);
    t.equal(await db.schemaVersion(), MIGRATIONS.length, 'migrated to the newest version');

    const insert = 'INSERT INTO users (email, role, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id';
    const first = await db.get<{ id: number }>(insert, ['Ann@Example.com', 'tech', 'h', 'now']);
    t.equal(first?.id, 1, 'RETURNING gives the new id, a number');
    const again = await db.run(insert, ['ann@example.COM', 'tech', 'h', 'now']).catch((err: unknown) => err);
    t.ok(isUniqueViolation(again), 'emails are unique whatever their case');
    t.same(
      await db.get('SELECT count(*) AS n FROM users WHERE lower(email) = lower(?)', ['ANN@example.com']),
      { n: 1 },
      'count(*) is a number',
    );
    t.same(await db.run('UPDATE users SET full_name = ? WHERE id = ?', ['Ann', 1]), { changes: 1 });

    await t.rejects(
      db.transaction(async (tx) => {
        await tx.run('UPDATE users SET full_name = ? WHERE id = ?', ['Rolled back', 1]);
        throw new Error('stop');
      }),
      { message: 'stop' },
    );
    t.same(await db.get('SELECT full_name FROM users WHERE id = 1'), { full_name: 'Ann' }, 'a throwing transaction changes nothing');
  });

  t.test(`${engine}: transactions that check then raise a count take turns`, async (t) => {
    const db = await open();
    t.teardown(() => db.close());
    await db.run(`INSERT INTO throttle (scope, address, window_start, misses) VALUES ('t', 'k', ?, 0)`, [Date.now()]);
    const limit = 5;
    const raise = () =>
      db.transaction(async (tx) => {
        await tx.lock('t:k');
        const { misses } = (await tx.get<{ misses: number }>(`SELECT misses FROM throttle WHERE scope = 't' AND address = 'k'`))!;
        // Give the other transactions every chance to interleave here.
        await new Promise((resolve) => setImmediate(resolve));
        if (misses >= limit) return false;
        await tx.run(`UPDATE throttle SET misses = ? WHERE scope = 't' AND address = 'k'`, [misses + 1]);
        return true;
      });
    // Plain statements meanwhile wait for the open transaction instead of joining it.
    const results = await Promise.all([...Array.from({ length: 20 }, raise), db.get<{ misses: number }>('SELECT misses FROM throttle')]);
    t.equal(results.filter((r) => r === true).length, limit, 'exactly the limit got through');
    t.same(await db.get('SELECT misses FROM throttle'), { misses: limit });
  });
}

/**
 * The tables, columns and indexes the first release's schema (version 1) made, column by column:
 * migration 1 must still make exactly these, or databases of that release would differ from new ones.
 */
const RELEASED_V1 = {
  audit_log: 'id at actor_id actor_email address action target_type target_id detail; index audit_log_at',
  sessions:
    'id session_code tech_user_id customer_name customer_email status udp_port created_at updated_at closed_at; ' +
    'index sessions_code sessions_live_code sessions_live_port sessions_owner',
  smtp_config: 'id smtp_host smtp_port security_type username password from_email require_auth updated_at',
  throttle: 'scope address window_start misses',
  users: 'id email full_name role max_sessions is_active password_hash token_version created_at',
};

/** Each table of a SQLite database as `columns; index names` (the implicit sqlite_autoindex_* left out). */
function sqliteTables(db: Database.Database): Record<string, string> {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'sqlite_sequence' ORDER BY name`).all() as {
    name: string;
  }[];
  const described: Record<string, string> = {};
  for (const { name } of tables) {
    const columns = (db.pragma(`table_info(${name})`) as { name: string }[]).map((c) => c.name).join(' ');
    const indexes = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`).all(name) as {
        name: string;
      }[]
    ).map((i) => i.name);
    described[name] = indexes.length ? `${columns}; index ${indexes.join(' ')}` : columns;
  }
  return described;
}

t.test('sqlite: a database made by the previous release opens and upgrades unchanged', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rac-sql-old-'));
  const old = new Database(join(dataDir, 'rac.db'));
  // A version-1 database, as the first release left it (before the email columns).
  old.exec(statementsFor('sqlite', MIGRATIONS[0]!).join(';\n'));
  old.pragma('user_version = 1');
  t.same(sqliteTables(old), RELEASED_V1, 'migration 1 still makes the released version-1 schema');
  old.prepare(`INSERT INTO users (email, role, password_hash, created_at) VALUES ('old@example.com', 'admin', 'h', 'then')`).run();
  old
    .prepare(
      `INSERT INTO sessions (session_code, tech_user_id, status, udp_port, created_at, updated_at)
               VALUES ('123456789', 1, 'pending', 40000, 'then', 'then')`,
    )
    .run();
  old.close();

  const db = await openDatabase({ dataDir });
  t.teardown(() => db.close());
  t.equal(await db.schemaVersion(), MIGRATIONS.length, 'upgraded to the newest version');
  t.same(await db.get('SELECT email, role FROM users'), { email: 'old@example.com', role: 'admin' }, 'the old rows are kept');
  t.same(
    await db.get('SELECT session_code, email_status, allow_unencrypted_agent, agent_secret FROM sessions'),
    { session_code: '123456789', email_status: null, allow_unencrypted_agent: 0, agent_secret: null },
    'the later columns were added',
  );
  t.equal(statSync(join(dataDir, 'rac.db')).mode & 0o777, 0o644 & ~process.umask(), 'an existing file keeps its mode');
});

t.test('sqlite: a new database file is mode 0600', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rac-sql-mode-'));
  const db = await openDatabase({ dataDir });
  t.teardown(() => db.close());
  t.equal(statSync(join(dataDir, 'rac.db')).mode & 0o777, 0o600);
});

t.test('a schema newer than this rac is refused on both engines', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rac-sql-new-'));
  const newer = new Database(join(dataDir, 'rac.db'));
  newer.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  newer.close();
  await t.rejects(openDatabase({ dataDir }), { message: /newer than this rac .*: upgrade rac/ });

  const url = await (await sharedPostgres()).createDatabase();
  await (await openDatabase({ dataDir: '', url })).close();
  const db = await openDatabase({ dataDir: '', url });
  await db.run('UPDATE schema_version SET version = ?', [MIGRATIONS.length + 1]);
  await db.close();
  await t.rejects(openDatabase({ dataDir: '', url }), { message: /newer than this rac .*: upgrade rac/ });
});

t.test('postgres: nodes starting together on an empty database migrate once', async (t) => {
  const url = await (await sharedPostgres()).createDatabase();
  const nodes = await Promise.all(Array.from({ length: 4 }, () => openDatabase({ dataDir: '', url })));
  t.teardown(() => Promise.all(nodes.map((db) => db.close())));
  for (const db of nodes) t.equal(await db.schemaVersion(), MIGRATIONS.length);
  t.same(await nodes[0]!.get('SELECT count(*) AS n FROM schema_version'), { n: 1 });
});

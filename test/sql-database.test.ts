// The data-access layer on both engines: placeholders, transactions that roll back, transactions
// that take turns on a rule (a count checked then raised), migrations (a database made by the
// previous release upgrades unchanged), and the URL choice.
import Database from 'better-sqlite3';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { MIGRATIONS } from '../src/broker/sql/migrations.js';
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

t.test('sqlite: a database made by the previous release opens and upgrades unchanged', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rac-sql-old-'));
  const old = new Database(join(dataDir, 'rac.db'));
  // The previous release's first migration, as it wrote it (version 1, before the email columns).
  old.exec(PREVIOUS_RELEASE_V1);
  old.pragma('user_version = 1');
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

const PREVIOUS_RELEASE_V1 = `CREATE TABLE users (
     id            INTEGER PRIMARY KEY AUTOINCREMENT,
     email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
     full_name     TEXT,
     role          TEXT NOT NULL CHECK (role IN ('admin', 'tech')),
     max_sessions  INTEGER NOT NULL DEFAULT 10,
     is_active     INTEGER NOT NULL DEFAULT 1,
     password_hash TEXT NOT NULL,
     token_version INTEGER NOT NULL DEFAULT 0,
     created_at    TEXT NOT NULL
   );
   CREATE TABLE sessions (
     id             INTEGER PRIMARY KEY AUTOINCREMENT,
     session_code   TEXT NOT NULL,
     tech_user_id   INTEGER NOT NULL REFERENCES users(id),
     customer_name  TEXT,
     customer_email TEXT,
     status         TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disconnected', 'closed')),
     udp_port       INTEGER NOT NULL,
     created_at     TEXT NOT NULL,
     updated_at     TEXT NOT NULL,
     closed_at      TEXT
   );
   CREATE UNIQUE INDEX sessions_live_code ON sessions(session_code) WHERE status <> 'closed';
   CREATE UNIQUE INDEX sessions_live_port ON sessions(udp_port) WHERE status <> 'closed';
   CREATE INDEX sessions_code ON sessions(session_code, id);
   CREATE INDEX sessions_owner ON sessions(tech_user_id, status);
   CREATE TABLE smtp_config (
     id            INTEGER PRIMARY KEY CHECK (id = 1),
     smtp_host     TEXT NOT NULL,
     smtp_port     INTEGER NOT NULL,
     security_type TEXT NOT NULL,
     username      TEXT,
     password      TEXT,
     from_email    TEXT NOT NULL,
     require_auth  INTEGER NOT NULL,
     updated_at    TEXT NOT NULL
   );
   CREATE TABLE throttle (
     scope        TEXT NOT NULL,
     address      TEXT NOT NULL,
     window_start INTEGER NOT NULL,
     misses       INTEGER NOT NULL,
     PRIMARY KEY (scope, address)
   );
   CREATE TABLE audit_log (
     id          INTEGER PRIMARY KEY AUTOINCREMENT,
     at          TEXT NOT NULL,
     actor_id    INTEGER,
     actor_email TEXT,
     address     TEXT,
     action      TEXT NOT NULL,
     target_type TEXT,
     target_id   TEXT,
     detail      TEXT
   );
   CREATE INDEX audit_log_at ON audit_log(at);`;

// Moving a session between broker nodes, on both engines: a node takes a dead node's session only
// while that node stays silent, at most once, and a node that lost a session cannot write its
// status any more.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SessionStore } from '../src/broker/session-store.js';
import { openDatabase } from '../src/broker/sql/open-database.js';
import type { SqlDatabase } from '../src/broker/sql/sql-database.js';
import { sharedPostgres } from './helpers/postgres.js';

const engines: Record<string, () => Promise<SqlDatabase>> = {
  sqlite: () => openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'rac-moves-')) }),
  postgres: async () => openDatabase({ dataDir: '', url: await (await sharedPostgres()).createDatabase() }),
};

t.teardown(async () => (await sharedPostgres()).stop());

async function setUp(db: SqlDatabase) {
  const at = new Date().toISOString();
  await db.run(`INSERT INTO users (email, role, password_hash, created_at) VALUES ('tech@example.com', 'tech', 'x', ?)`, [at]);
  const user = (await db.get<{ id: number }>('SELECT id FROM users'))!;
  const beat = (id: string, heartbeatAt: number) =>
    db.run(
      `INSERT INTO nodes (id, public_url, relay_host, internal_url, started_at, heartbeat_at) VALUES (?, '', '', '', ?, ?)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      [id, Date.now(), heartbeatAt],
    );
  const store = new SessionStore(db);
  const session = await store.insert({
    tech_user_id: user.id,
    customer_name: null,
    customer_email: null,
    udp_port: 47001,
    allow_unencrypted_agent: false,
    node_id: 'a',
  });
  return { store, session, beat };
}

for (const [engine, open] of Object.entries(engines)) {
  t.test(`${engine}: a session moves only from a silent node, once`, async (t) => {
    const db = await open();
    t.teardown(() => db.close());
    const { store, session, beat } = await setUp(db);
    await store.setStatus(session.id, 'disconnected');
    const silentSince = Date.now() - 5000;
    const move = (to: string) => store.moveToNode(session.id, { from: 'a', to, udpPort: 47002, status: 'disconnected', silentSince });

    await beat('a', Date.now());
    t.equal(await move('b'), undefined, 'node a beat just now: it keeps its session');
    await beat('a', silentSince - 1000);
    const moved = await move('b');
    t.equal(moved?.session.node_id, 'b', 'node a is silent: node b takes the session');
    t.equal(moved?.session.udp_port, 47002);
    t.equal(await move('c'), undefined, 'a second node finds it taken');
  });

  t.test(`${engine}: a node that lost a session cannot set its status`, async (t) => {
    const db = await open();
    t.teardown(() => db.close());
    const { store, session, beat } = await setUp(db);
    await store.setStatus(session.id, 'disconnected');
    await beat('a', 0);
    await store.moveToNode(session.id, { from: 'a', to: 'b', udpPort: 47002, status: 'disconnected', silentSince: Date.now() });
    t.equal(await store.setStatus(session.id, 'active', 'a'), undefined, 'node a, back, does not mark it active');
    t.equal((await store.byId(session.id))?.status, 'disconnected');
    t.equal((await store.setStatus(session.id, 'active', 'b'))?.status, 'active', 'its holder can');
    t.equal((await store.setStatus(session.id, 'disconnected'))?.status, 'disconnected', 'and so can anyone not naming a holder');
  });
}

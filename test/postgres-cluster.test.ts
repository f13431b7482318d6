// The throwaway PostgreSQL cluster the broker suite runs against: it starts, hands out separate
// databases, and leaves nothing behind.
import { existsSync } from 'node:fs';
import pg from 'pg';
import t from 'tap';
import { startPostgres } from './helpers/postgres.js';

t.test('a cluster starts on a free port, gives separate databases and is removed on stop', async (t) => {
  const cluster = await startPostgres();
  const first = await cluster.createDatabase();
  const second = await cluster.createDatabase();
  t.not(first, second);
  const client = new pg.Client({ connectionString: first });
  await client.connect();
  const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
  await client.end();
  t.equal(cluster.url(rows[0]!.db), first, 'the URL names the database it connects to');
  t.ok(existsSync(cluster.dir));
  await cluster.stop();
  t.notOk(existsSync(cluster.dir), 'the directory is removed');
  const probe = new pg.Client({ connectionString: cluster.url(), connectionTimeoutMillis: 2000 });
  await t.rejects(probe.connect(), 'the server is gone after stop');
});

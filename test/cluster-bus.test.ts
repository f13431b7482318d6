// The cluster bus on a real PostgreSQL: every node hears every event (its own too), malformed and
// oversized payloads go nowhere, and a bus whose connection is cut reconnects, LISTENs again and
// sends what was published meanwhile.
import pg from 'pg';
import t from 'tap';
import { LocalBus } from '../src/broker/cluster/cluster-bus.js';
import { type ClusterMessage, MAX_EVENT_BYTES, parseClusterMessage } from '../src/broker/cluster/cluster-events.js';
import { CLUSTER_CHANNEL, PostgresBus, busApplicationName } from '../src/broker/cluster/postgres-bus.js';
import { Inbox } from './helpers/session-peers.js';
import { sharedPostgres } from './helpers/postgres.js';

function inboxOf(bus: { subscribe(h: (m: ClusterMessage) => void): () => void }): Inbox<ClusterMessage> {
  const inbox = new Inbox<ClusterMessage>();
  bus.subscribe((message) => inbox.push(message));
  return inbox;
}

async function query(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

t.test('two nodes on one database hear each other and themselves', async (t) => {
  const url = await (await sharedPostgres()).createDatabase();
  const a = await PostgresBus.connect(url, 'node-a');
  const b = await PostgresBus.connect(url, 'node-b');
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const heardByA = inboxOf(a);
  const heardByB = inboxOf(b);

  await a.publish({ type: 'session', id: 7 });
  await b.publish({ type: 'block', scope: 'login', key: '10.0.0.1', until: 1234 });
  t.same(await heardByB.next((m) => m.type === 'session'), { type: 'session', id: 7, from: 'node-a' });
  t.same(await heardByA.next((m) => m.type === 'session'), { type: 'session', id: 7, from: 'node-a' }, 'its own event too');
  t.same(await heardByA.next((m) => m.type === 'block'), { type: 'block', scope: 'login', key: '10.0.0.1', until: 1234, from: 'node-b' });
});

t.test('a payload another program sends on the channel is dropped unless it is an event', async (t) => {
  const url = await (await sharedPostgres()).createDatabase();
  const bus = await PostgresBus.connect(url, 'node-a');
  t.teardown(() => bus.close());
  const heard = inboxOf(bus);
  await query(url, 'SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, '{"type":"session","id":"1; DROP","from":"x"}']);
  await query(url, 'SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, 'not json']);
  await query(url, 'SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, '{"type":"user","id":3,"from":"other"}']);
  t.same(await heard.next(), { type: 'user', id: 3, from: 'other' }, 'the first event heard is the valid one');
  t.equal(heard.items.length, 0, 'nothing else was delivered');
});

t.test('an event over the NOTIFY limit is refused before it is sent', async (t) => {
  const bus = new LocalBus('node-a');
  await t.rejects(bus.publish({ type: 'block', scope: 's', key: 'k'.repeat(MAX_EVENT_BYTES), until: 1 }), /over the 7900-byte limit/);
});

t.test('the parser takes only well-formed events', async (t) => {
  t.same(parseClusterMessage('{"type":"session","id":1,"from":"a"}'), { type: 'session', id: 1, from: 'a' });
  t.equal(parseClusterMessage('{"type":"session","id":0,"from":"a"}'), undefined, 'ids are positive');
  t.equal(parseClusterMessage('{"type":"user","id":1}'), undefined, 'the sender is named');
  t.equal(parseClusterMessage('{"type":"block","scope":"s","key":"k","from":"a"}'), undefined, 'a block says until when');
  t.equal(parseClusterMessage('{"type":"reboot","from":"a"}'), undefined, 'unknown types are dropped');
  t.equal(parseClusterMessage('null'), undefined);
});

t.test('a cut connection comes back: LISTEN again, queued events sent', async (t) => {
  const url = await (await sharedPostgres()).createDatabase();
  const logs: string[] = [];
  const a = await PostgresBus.connect(url, 'node-a', { log: (m) => logs.push(m) });
  const b = await PostgresBus.connect(url, 'node-b');
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const heardByA = inboxOf(a);
  const heardByB = inboxOf(b);

  const cut = await query(url, 'SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name = $1', [
    busApplicationName('node-a'),
  ]);
  t.equal(cut.rowCount, 1, "node-a's bus connection was cut");
  await a.publish({ type: 'user', id: 5 });
  t.same(await heardByB.next((m) => m.type === 'user'), { type: 'user', id: 5, from: 'node-a' }, 'what was published while cut arrives');
  // Logged before the queued events were sent.
  t.match(logs.join('\n'), /lost its database connection[\s\S]*reconnected/);
  await b.publish({ type: 'session', id: 9 });
  t.same(await heardByA.next((m) => m.type === 'session'), { type: 'session', id: 9, from: 'node-b' }, 'it listens again');
});

t.test('the local bus delivers in this process, after the publisher ran, and nothing once closed', async (t) => {
  const bus = new LocalBus('solo');
  const heard = inboxOf(bus);
  await bus.publish({ type: 'session', id: 1 });
  t.same(await heard.next(), { type: 'session', id: 1, from: 'solo' });
  await bus.close();
  await bus.publish({ type: 'session', id: 2 });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(heard.items.length, 0);
});

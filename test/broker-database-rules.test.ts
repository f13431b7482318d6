// The rules SQLite kept by being the only writer, played against real brokers: parallel session
// creations never exceed the tech's max_sessions, on one broker (SQLite) and on two brokers sharing
// one PostgreSQL database; a code-guessing address blocked on one node is blocked on the other.
import t from 'tap';
import { ADMIN_EMAIL, type BrokerProcess, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { sharedPostgres } from './helpers/postgres.js';
import { eventually } from './helpers/smtp-setup.js';

const TECH = { email: 'limited@example.com', password: 'limited-password-1', max_sessions: 3 };

async function createTech(broker: BrokerProcess): Promise<void> {
  const admin = await login(broker.api);
  const created = await call(broker.api, 'POST', '/users', { token: admin, body: { ...TECH, role: 'tech' } });
  if (created.status !== 200) throw new Error(`creating the tech failed: ${created.status} ${JSON.stringify(created.body)}`);
}

/** `count` creations at once, spread over the brokers; the statuses in order. */
async function createAtOnce(brokers: BrokerProcess[], count: number): Promise<number[]> {
  const tokens = await Promise.all(brokers.map((broker) => login(broker.api, TECH.email, TECH.password)));
  const attempts = Array.from({ length: count }, (_, i) =>
    call(brokers[i % brokers.length]!.api, 'POST', '/sessions', { token: tokens[i % brokers.length], body: {} }),
  );
  return (await Promise.all(attempts)).map((response) => response.status);
}

const tally = (statuses: number[]) => ({
  created: statuses.filter((s) => s === 200).length,
  refused: statuses.filter((s) => s === 429).length,
});

t.test('SQLite: 12 creations at once for a tech allowed 3 live sessions: 3 are created', async (t) => {
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  await createTech(broker);
  t.same(tally(await createAtOnce([broker], 12)), { created: 3, refused: 9 });
  const live = await call<unknown[]>(broker.api, 'GET', '/sessions', { token: await login(broker.api, TECH.email, TECH.password) });
  t.equal(live.body.length, 3, 'three sessions exist');
});

t.test('PostgreSQL: two brokers on one database', async (t) => {
  const url = await (await sharedPostgres()).createDatabase();
  const first = await startBrokerProcess({ args: ['--database', url] });
  t.teardown(() => first.stop());
  // The second node finds the first admin made by the first: it creates none and prints no password.
  const second = await startBrokerProcess({ args: ['--database', url] });
  t.teardown(() => second.stop());
  t.notMatch(second.stderr(), /First admin created/, 'the second node created no first admin');
  t.equal((await call(second.api, 'POST', '/auth/login', { body: { email: ADMIN_EMAIL, password: 'wrong-password-x' } })).status, 401);

  await createTech(first);
  t.same(tally(await createAtOnce([first, second], 12)), { created: 3, refused: 9 }, 'both nodes together keep max_sessions');

  // 30 unknown codes on the first node: it blocks the address, and tells the second node over the
  // cluster bus. The second refuses even a live code there, which counts no miss: the block arrived.
  for (let i = 0; i < 30; i++) t.equal((await call(first.api, 'GET', `/sessions/${String(200000000 + i)}/info`)).status, 404);
  t.equal((await call(first.api, 'GET', '/sessions/299999999/info')).status, 429, 'the first node blocks the address');
  const techToken = await login(second.api, TECH.email, TECH.password);
  const [live] = (await call<{ session_code: string }[]>(second.api, 'GET', '/sessions', { token: techToken })).body;
  const blocked = await eventually(async () => {
    const answer = await call(second.api, 'GET', `/sessions/${live!.session_code}/info`);
    return answer.status === 429 ? answer : undefined;
  }, 'the second node to learn the block');
  t.equal(blocked.status, 429, 'then the second node blocks the address too');
  t.ok(Number(blocked.headers.get('retry-after')) > 0, 'with Retry-After');
});

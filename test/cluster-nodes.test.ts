// Two `rac serve` nodes on one PostgreSQL database, as real processes: a login on one works on the
// other; a session lives on the node that created it and its agent and viewer, connected to the
// other node, are passed to the owner and stream; closing the session or disabling the user on
// the other node ends them (and the owner does not echo the close); a right password on an
// account's last allowed attempt leaves it open on every node; the owner killed (SIGKILL) and
// restarted under the same node id takes its sessions back and the stream resumes.
import { once } from 'node:events';
import t, { type Test } from 'tap';
import type { WebSocket } from 'ws';
import type { Session } from '../src/protocol/broker-api.js';
import { CloseCode } from '../src/protocol/index.js';
import type { ClusterMessage } from '../src/broker/cluster/cluster-events.js';
import { PostgresBus } from '../src/broker/cluster/postgres-bus.js';
import { type BrokerProcess, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { streamThrough } from './helpers/cluster-stream.js';
import { sharedPostgres } from './helpers/postgres.js';
import { Inbox } from './helpers/session-peers.js';
import { connectViewer } from './helpers/session-viewer.js';
import { eventually } from './helpers/smtp-setup.js';
import { solidJpeg } from './helpers/test-picture.js';

const postgres = await sharedPostgres();
const database = await postgres.createDatabase();
const nodeArgs = (id: string) => ['--database', database, '--node-id', id];

// One after the other: the first creates the schema, the secrets and the first admin.
const nodeA = await startBrokerProcess({ args: nodeArgs('node-a') });
let nodeB = await startBrokerProcess({ args: nodeArgs('node-b') });
t.teardown(() => Promise.all([nodeA.stop(), nodeB.stop()]));

const admin = await login(nodeA.api);

async function createSession(on: BrokerProcess, token: string): Promise<Session> {
  const res = await call<Session>(on.api, 'POST', '/sessions', { token, body: { customer_name: 'Carl' } });
  if (res.status !== 200) throw new Error(`POST /sessions: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** What the nodes tell each other, heard as a third node would. */
async function hearBus(t: Test): Promise<Inbox<ClusterMessage>> {
  const observer = await PostgresBus.connect(database, 'observer');
  t.teardown(() => observer.close());
  const heard = new Inbox<ClusterMessage>();
  observer.subscribe((message) => heard.push(message));
  return heard;
}

const closeOf = (ws: WebSocket): Promise<number> =>
  ws.readyState === ws.CLOSED ? Promise.resolve(-1) : once(ws, 'close').then(([code]) => code as number);

t.test('a login on one node works on the other; a session lives on the node that created it', async (t) => {
  const sessions = await call<Session[]>(nodeB.api, 'GET', '/sessions', { token: admin });
  t.equal(sessions.status, 200, "node A's token is valid on node B (one signing key in the database)");
  const session = await createSession(nodeB, admin);
  t.ok(session.udp_port >= nodeB.udpPorts.first && session.udp_port <= nodeB.udpPorts.last, "on node B's UDP ports");
  t.equal(session.relay_host, '127.0.0.1', "the relay host is node B's");
  const info = await call<{ udp_port: number; relay_host: string }>(nodeA.api, 'GET', `/sessions/${session.session_code}/info`);
  t.match(info.body, { udp_port: session.udp_port, relay_host: '127.0.0.1' }, 'node A answers for it too');
});

t.test('agent and viewer on the other node are passed to the owner and stream; a close there ends them', async (t) => {
  const session = await createSession(nodeB, admin);
  const heard = await hearBus(t);
  const { agent, viewer } = await streamThrough(t, nodeA, session, admin);
  // The owner made it active and said so: what it sends from here on is the test's.
  await heard.next((m) => m.type === 'session' && m.id === session.id && m.from === 'node-b');
  const viewerClosed = closeOf(viewer.ws);
  const agentClosed = closeOf(agent.signal.ws);
  const closed = await call(nodeA.api, 'DELETE', `/sessions/${session.id}`, { token: admin });
  t.equal(closed.status, 200, 'closed on node A (not the owner)');
  t.equal(await viewerClosed, CloseCode.NORMAL, "the viewer's WebSocket ends");
  t.equal(await agentClosed, CloseCode.NORMAL, "the agent's WebSocket ends");
  t.match(await heard.next((m) => m.type === 'session' && m.id === session.id), { from: 'node-a' }, 'node A told the others');
  // A later event from node B: the bus delivers in order, so anything node B sent before it has arrived.
  const renamed = await call(nodeB.api, 'PATCH', '/users/1', { token: admin, body: { full_name: 'Admin' } });
  t.equal(renamed.status, 200);
  await heard.next((m) => m.type === 'user' && m.from === 'node-b');
  t.same(
    heard.items.filter((m) => m.type === 'session' && m.id === session.id && m.from === 'node-b'),
    [],
    'node B followed the close without sending it back',
  );
});

t.test('disabling the user on one node closes their viewer on the other', async (t) => {
  const created = await call<{ id: number }>(nodeA.api, 'POST', '/users', {
    token: admin,
    body: { email: 'tech@example.com', password: 'tech-password-1', full_name: 'Tech', role: 'tech' },
  });
  t.equal(created.status, 200);
  const tech = await login(nodeA.api, 'tech@example.com', 'tech-password-1');
  const session = await createSession(nodeB, tech);
  const { viewer } = await streamThrough(t, nodeB, session, tech);
  const viewerClosed = closeOf(viewer.ws);
  const disabled = await call(nodeA.api, 'PATCH', `/users/${created.body.id}`, { token: admin, body: { is_active: false } });
  t.equal(disabled.status, 200, 'disabled on node A');
  t.equal(await viewerClosed, CloseCode.NOT_AUTHENTICATED, 'the viewer on node B is cut off');
});

t.test("a right password on an account's last attempt blocks it nowhere; a kept last miss blocks it everywhere", async (t) => {
  const email = 'last-try@example.com';
  const password = 'last-try-password-1';
  const created = await call<{ id: number }>(nodeA.api, 'POST', '/users', { token: admin, body: { email, password, role: 'tech' } });
  t.equal(created.status, 200);
  const heard = await hearBus(t);
  const tryLogin = (on: BrokerProcess, secret: string) => call(on.api, 'POST', '/auth/login', { body: { email, password: secret } });

  for (let i = 1; i <= 9; i++) t.equal((await tryLogin(nodeA, 'wrong-password-1')).status, 401, `wrong password ${i} of 10`);
  t.equal((await tryLogin(nodeA, password)).status, 200, 'the 10th attempt, with the right password, logs in');
  // A later event from node A: the bus delivers in order, so anything sent before it has arrived.
  t.equal((await call(nodeA.api, 'PATCH', `/users/${created.body.id}`, { token: admin, body: { full_name: 'Last Try' } })).status, 200);
  await heard.next((m) => m.type === 'user' && m.id === created.body.id && m.from === 'node-a');
  t.same(
    heard.items.filter((m) => m.type === 'block' && m.key === email),
    [],
    'node A told no node to block the account',
  );
  t.equal((await tryLogin(nodeB, password)).status, 200, 'node B lets the user in');

  t.equal((await tryLogin(nodeB, 'wrong-password-1')).status, 401, 'a wrong password on the 10th attempt');
  t.match(
    await heard.next((m) => m.type === 'block' && m.key === email),
    { scope: 'login_account', from: 'node-b' },
    'is told to every node',
  );
  const refused = await tryLogin(nodeA, password);
  t.equal(refused.status, 429, 'node A refuses even the right password');
  t.match(refused.body.detail, /^Too many failed attempts for this account: retry in \d+ s$/);
});

t.test('the owner killed and restarted under the same id takes its sessions back; the stream resumes', async (t) => {
  const session = await createSession(nodeB, admin);
  const { agent, viewer } = await streamThrough(t, nodeA, session, admin);
  const viewerCut = closeOf(viewer.ws);
  nodeB.process.kill('SIGKILL');
  await once(nodeB.process, 'exit');
  await viewerCut;
  const statusOnA = async () =>
    (await call<Session[]>(nodeA.api, 'GET', '/sessions', { token: admin })).body.find((s) => s.id === session.id)?.status;
  await eventually(async () => ((await statusOnA()) === 'disconnected' ? true : undefined), 'node A to mark the session disconnected');
  t.pass("node A saw node B's heartbeat stop and marked its session disconnected");

  nodeB = await startBrokerProcess({ dataDir: nodeB.dataDir, udpPorts: nodeB.udpPorts, args: nodeArgs('node-b') });
  await agent.resume(nodeA.url);
  await agent.handshake();
  const again = await connectViewer(nodeA.url, session.session_code, admin);
  t.teardown(() => again.close());
  await again.waitSealed();
  await again.waitControl('screen');
  const picture = solidJpeg([250, 250, 0]);
  const frame = again.nextFrame();
  await agent.sendFrame(picture);
  t.ok((await frame).jpeg.equals(picture), 'frames flow again through the restarted owner');
  t.equal(await statusOnA(), 'active', 'the same session is active again');
  const stillThere = await call<Session[]>(nodeA.api, 'GET', '/sessions', { token: admin });
  t.equal(stillThere.body.length, 4, 'every session is still in the database');
});

// Several `rac serve` nodes on one PostgreSQL database, as real processes: the stats of a session
// asked on the node that does not hold it come from its owner; a node only thought dead (stopped)
// lets go of the session another node took meanwhile; a node killed (SIGKILL) before anyone joined
// its session leaves the code working: another node takes the session on a port of its own and the
// agent and viewer stream through it; a killed node that never comes back loses its active sessions
// too once the takeover timeout passed: one of the live nodes takes each, and the agent (resuming
// with its secret) and a viewer stream through it; a node only paused that long lets its active
// session go when it resumes (1012, its port freed); a taken session keeps its creation time, so it
// expires on the new node as it would have on the old one.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import t from 'tap';
import type { Session } from '../src/protocol/broker-api.js';
import { CloseCode } from '../src/protocol/index.js';
import { TAKEOVER_AFTER_MS } from '../src/broker/cluster/cluster-node.js';
import { type BrokerProcess, type SessionStats, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { streamThrough } from './helpers/cluster-stream.js';
import { sharedPostgres } from './helpers/postgres.js';
import { connectViewer } from './helpers/session-viewer.js';
import { eventually } from './helpers/smtp-setup.js';
import { solidJpeg } from './helpers/test-picture.js';

const postgres = await sharedPostgres();
const database = await postgres.createDatabase();
const nodeArgs = (id: string, ...more: string[]) => ['--database', database, '--node-id', id, ...more];

// One after the other: the first creates the schema, the secrets and the first admin.
const nodeA = await startBrokerProcess({ args: nodeArgs('node-a') });
const nodeB = await startBrokerProcess({ args: nodeArgs('node-b') });
t.teardown(() => Promise.all([nodeA.stop(), nodeB.stop()]));

const admin = await login(nodeA.api);

interface SessionInfo {
  session_code: string;
  udp_port: number;
  status: string;
}
interface AuditEntry {
  action: string;
  target_id: string | null;
  detail: Record<string, unknown> | null;
}

async function createSession(on: BrokerProcess): Promise<Session> {
  const res = await call<Session>(on.api, 'POST', '/sessions', { token: admin, body: { customer_name: 'Carl' } });
  if (res.status !== 200) throw new Error(`POST /sessions: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const inRange = (port: number, node: BrokerProcess) => port >= node.udpPorts.first && port <= node.udpPorts.last;

const infoOf = async (on: BrokerProcess, code: string) => (await call<SessionInfo>(on.api, 'GET', `/sessions/${code}/info`)).body;

async function auditOf(on: BrokerProcess, action: string, sessionId: number): Promise<AuditEntry[]> {
  const page = await call<{ entries: AuditEntry[] }>(on.api, 'GET', `/audit?action=${action}`, { token: admin });
  return page.body.entries.filter((entry) => entry.target_id === String(sessionId));
}

/** Whether a UDP socket can bind the port now (the broker that held it let it go). */
async function bindable(port: number): Promise<true | undefined> {
  const socket = createSocket('udp4');
  const bound = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => resolve(true));
  });
  socket.close();
  return bound || undefined;
}

const closeOf = (ws: { readyState: number; CLOSED: number } & NodeJS.EventEmitter): Promise<number> =>
  ws.readyState === ws.CLOSED ? Promise.resolve(-1) : once(ws, 'close').then(([code]) => code as number);

async function killed(node: BrokerProcess): Promise<void> {
  const exited = new Promise((resolve) => node.process.once('exit', resolve));
  node.process.kill('SIGKILL');
  await exited;
}

t.test("a session's stats asked on the other node are its owner's counters", async (t) => {
  const session = await createSession(nodeB);
  t.ok(inRange(session.udp_port, nodeB), "on node B's UDP ports");
  await streamThrough(t, nodeA, session, admin);
  const onB = await call<SessionStats>(nodeB.api, 'GET', `/sessions/${session.id}/stats`, { token: admin });
  const onA = await call<SessionStats>(nodeA.api, 'GET', `/sessions/${session.id}/stats`, { token: admin });
  t.equal(onA.status, 200);
  t.ok(onA.body.relay, 'node A answers with counters, not null');
  t.equal(onA.body.relay?.agent_pinned, true, 'the owner pinned the agent');
  t.equal(onA.body.relay?.viewers_pinned, 1, 'and the viewer');
  const forwarded = onA.body.relay?.sealed_forwarded ?? 0;
  t.ok(forwarded > 0, 'the sealed frame datagrams are counted');
  t.ok(forwarded >= (onB.body.relay?.sealed_forwarded ?? Infinity), "node B's own figures (read after asking node B)");

  const stranger = await call(nodeA.api, 'GET', `/sessions/${session.id}/stats`, {
    headers: { 'x-rac-node-forwarded-for': '127.0.0.1', 'x-rac-node-forwarded-proof': 'forged' },
  });
  t.equal(stranger.status, 401, 'without a login, nothing (the owner is never asked on its behalf)');
});

t.test('a node only thought dead (stopped, then resumed) lets the session it lost go', async (t) => {
  const session = await createSession(nodeB);
  const viewer = await connectViewer(nodeB.url, session.session_code, admin);
  t.teardown(() => viewer.close());
  const viewerClosed = new Promise<number>((resolve) => viewer.ws.once('close', (code: number) => resolve(code)));
  nodeB.process.kill('SIGSTOP');
  const info = await eventually(async () => {
    const now = await infoOf(nodeA, session.session_code);
    return inRange(now.udp_port, nodeA) && now.udp_port !== session.udp_port ? now : undefined;
  }, "node A to take the stopped node's pending session").finally(() => nodeB.process.kill('SIGCONT'));
  t.equal(info.status, 'pending', 'node A holds it now');
  t.equal(await viewerClosed, CloseCode.RESTARTING, "node B, resumed, closes its viewer's WebSocket with 1012 (look it up again)");
  const freed = await eventually(() => bindable(session.udp_port), "node B to free the session's old UDP port");
  t.ok(freed, "node B's old port for it is free again");
});

t.test("a killed node's pending session is taken by another node: its code still works", async (t) => {
  const session = await createSession(nodeB);
  await killed(nodeB);
  const info = await eventually(async () => {
    const now = await infoOf(nodeA, session.session_code);
    return now.udp_port !== session.udp_port && inRange(now.udp_port, nodeA) ? now : undefined;
  }, "node A to take node B's pending session");
  t.equal(info.status, 'pending', 'still pending, same code, a port of node A');
  await streamThrough(t, nodeA, info, admin);
  const status = (await call<Session[]>(nodeA.api, 'GET', '/sessions', { token: admin })).body.find((s) => s.id === session.id)?.status;
  t.equal(status, 'active', 'the agent joined it on node A');
  const adopted = await auditOf(nodeA, 'session.adopt', session.id);
  t.equal(adopted.length, 1, 'one audit event says it moved');
  t.match(adopted[0]?.detail, { from_node: 'node-b', udp_port: info.udp_port, session_code: session.session_code });
});

t.test('a killed node that never comes back: a live node takes over its active session; the stream resumes', async (t) => {
  // Node D holds the session; agent and viewer reach it through node A (which passes their
  // WebSockets on). Node E is a second live node: both A and E try to take the session, one wins.
  const nodeD = await startBrokerProcess({ args: nodeArgs('node-d') });
  const nodeE = await startBrokerProcess({ args: nodeArgs('node-e') });
  t.teardown(() => Promise.all([nodeD.stop(), nodeE.stop()]));
  const session = await createSession(nodeD);
  const { agent, viewer } = await streamThrough(t, nodeA, session, admin);
  const viewerCut = closeOf(viewer.ws);
  await killed(nodeD);
  await viewerCut;

  const info = await eventually(
    async () => {
      const now = await infoOf(nodeA, session.session_code);
      return (inRange(now.udp_port, nodeA) || inRange(now.udp_port, nodeE)) && now.udp_port !== session.udp_port ? now : undefined;
    },
    "a live node to take over node D's disconnected session",
    TAKEOVER_AFTER_MS + 30_000,
  );
  t.equal(info.status, 'disconnected', 'taken while nobody is connected, under the same code');

  // The agent comes back through node A with its secret, and learns the new port from the lookup.
  await agent.resume(nodeA.url, info.udp_port);
  await agent.handshake();
  const again = await connectViewer(nodeA.url, session.session_code, admin);
  t.teardown(() => again.close());
  await again.waitSealed();
  await again.waitControl('screen');
  const picture = solidJpeg([0, 120, 250]);
  const frame = again.nextFrame();
  await agent.sendFrame(picture);
  t.ok((await frame).jpeg.equals(picture), "frames flow again, through the new owner's relay");

  const stats = await call<SessionStats>(nodeA.api, 'GET', `/sessions/${session.id}/stats`, { token: admin });
  t.match(stats.body.relay, { agent_pinned: true, viewers_pinned: 1 }, 'the new relay pinned the agent and the one viewer there now');
  const row = (await call<Session[]>(nodeA.api, 'GET', '/sessions', { token: admin })).body.find((s) => s.id === session.id);
  t.match(row, { status: 'active', session_code: session.session_code, customer_name: 'Carl', created_at: session.created_at });
  const adopted = await auditOf(nodeA, 'session.adopt', session.id);
  t.equal(adopted.length, 1, 'one node took it, and the audit says so once');
  t.match(adopted[0]?.detail, { from_node: 'node-d', udp_port: info.udp_port, status: 'disconnected' });
});

t.test('a node away past the takeover timeout, then back, lets the active session it lost go', async (t) => {
  const nodeF = await startBrokerProcess({ args: nodeArgs('node-f') });
  t.teardown(() => nodeF.stop());
  const session = await createSession(nodeF);
  const { agent, viewer } = await streamThrough(t, nodeA, session, admin);
  const agentClosed = closeOf(agent.signal.ws);
  const viewerClosed = closeOf(viewer.ws);
  nodeF.process.kill('SIGSTOP');
  const info = await eventually(
    async () => {
      const now = await infoOf(nodeA, session.session_code);
      return inRange(now.udp_port, nodeA) ? now : undefined;
    },
    "node A to take over the stopped node's session",
    TAKEOVER_AFTER_MS + 30_000,
  ).finally(() => nodeF.process.kill('SIGCONT'));
  t.equal(info.status, 'disconnected', 'node A holds it now');
  t.equal(await agentClosed, CloseCode.RESTARTING, "node F, resumed, closes its agent's WebSocket with 1012 (look it up again)");
  t.equal(await viewerClosed, CloseCode.RESTARTING, 'and its viewer');
  t.ok(await eventually(() => bindable(session.udp_port), "node F to free the session's old UDP port"), 'the old port is free again');
  const stats = await call<SessionStats>(nodeA.api, 'GET', `/sessions/${session.id}/stats`, { token: admin });
  t.match(stats.body.relay, { agent_pinned: false, viewers_pinned: 0 }, "nothing of node F's pins on node A's relay");
});

t.test('a taken session keeps its creation time: past the timeout, the new node expires it', async (t) => {
  // Node C expires pending sessions after 2 s; the session was created longer ago than that when
  // node A's death is noticed (5 s of silence), so node C takes it and closes it.
  const nodeC = await startBrokerProcess({ args: nodeArgs('node-c', '--pending-timeout', '2s') });
  t.teardown(() => nodeC.stop());
  const session = await createSession(nodeA);
  await killed(nodeA);
  const expired = await eventually(async () => {
    const entries = await auditOf(nodeC, 'session.expire', session.id);
    return entries.length > 0 ? entries : undefined;
  }, 'node C to expire the session it took from node A');
  t.equal(expired.length, 1, 'expired once, by node C');
  t.equal((await auditOf(nodeC, 'session.adopt', session.id)).length, 1, 'after taking it');
  const info = await call(nodeC.api, 'GET', `/sessions/${session.session_code}/info`);
  t.equal(info.status, 410, 'its code is gone for good');
});

// The broker's side of docs/security.md against a real `rac serve`: every attack the broker must
// stop, played with real WebSockets and UDP sockets. The test is the agent (it holds the secret and
// makes proofs), the viewers (tickets, cookie echo) and the attacker. Sealed datagrams carry random
// bytes after a valid header: the relay routes by header alone and never looks further.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import t, { type Test } from 'tap';
import { agentHandshakeProof } from '../src/protocol/crypto/keys.js';
import { encodeHandshake } from '../src/protocol/datagram.js';
import type { Session, User } from '../src/protocol/broker-api.js';
import { call, login, type SessionStats, startBrokerProcess } from './helpers/broker-process.js';
import { PATIENCE_MS } from './helpers/patience.js';
import {
  type Json,
  type SignalPeer,
  type UdpPeer,
  control,
  controlOf,
  nextOf,
  openSignal,
  openUdp,
  pinViewer,
  provenHandshake,
  refusal,
  sealedDatagram,
  sleep,
} from './helpers/session-peers.js';

const broker = await startBrokerProcess({ args: ['--trust-proxy', '127.0.0.1'] });
t.teardown(() => broker.stop());
const admin = await login(broker.api);
const newUser = async (email: string, body: Json = {}) => {
  await call(broker.api, 'POST', '/users', { token: admin, body: { email, password: `${email}-password`, ...body } });
  return login(broker.api, email, `${email}-password`);
};
const tech = await newUser('tech@example.com', { full_name: 'Tina Tech' });
const key = () => randomBytes(32).toString('base64url');
const opaque = () => randomBytes(48);
const ticksLater = (() => {
  let last = Date.now();
  return () => (last = Math.max(last + 1, Date.now()));
})();

type Relay = NonNullable<SessionStats['relay']>;
const stats = async (sessionId: number): Promise<Relay> =>
  (await call<SessionStats>(broker.api, 'GET', `/sessions/${sessionId}/stats`, { token: admin })).body.relay!;

/** Polls the relay's counters until `ready` holds (the relay answers nothing to some datagrams). */
async function statsWhen(sessionId: number, ready: (s: Relay) => boolean, what: string): Promise<Relay> {
  const until = Date.now() + PATIENCE_MS;
  for (;;) {
    const s = await stats(sessionId);
    if (ready(s)) return s;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}`);
    await sleep(25);
  }
}

interface Agent {
  ws: SignalPeer;
  secret: string;
  udp: UdpPeer;
}
interface Viewer {
  ws: SignalPeer;
  id: number;
  udp: UdpPeer;
}

async function newSession(t: Test, owner = tech): Promise<Session> {
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: owner, body: { customer_name: 'Carl' } })).body;
  t.teardown(() => call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: admin }));
  return session;
}

/** Our agent: joins with the code, pins its UDP address with a proof. */
async function joinAgent(t: Test, session: Session): Promise<Agent> {
  const ws = await openSignal(broker.url, session.session_code);
  const welcome = await nextOf(ws, 'agent_welcome');
  const udp = await openUdp();
  t.teardown(() => {
    ws.ws.close();
    udp.close();
  });
  const pinsBefore = (await stats(session.id)).agent_pinned;
  await udp.send(provenHandshake(session.session_code, welcome.agent_secret!, ticksLater()), session.udp_port);
  if (!pinsBefore) await statsWhen(session.id, (s) => s.agent_pinned, 'the agent pinned');
  return { ws, secret: welcome.agent_secret!, udp };
}

/** A viewer: WebSocket with a token, its UDP address pinned by ticket and cookie. */
async function joinViewer(t: Test, session: Session, token = tech): Promise<Viewer> {
  const ws = await openSignal(broker.url, session.session_code, token);
  const joined = await nextOf(ws, 'joined');
  const ticket = await nextOf(ws, 'udp_ticket');
  const udp = await openUdp();
  t.teardown(() => {
    ws.ws.close();
    udp.close();
  });
  await pinViewer(udp, session.udp_port, ticket.ticket);
  return { ws, id: joined.viewer_id, udp };
}

t.test('the key exchange passes through the broker, each message to its party only', async (t) => {
  const session = await newSession(t);
  const v1 = await openSignal(broker.url, session.session_code, tech);
  t.teardown(() => v1.ws.close());
  const joined = await nextOf(v1, 'joined');
  t.match(joined, { session_id: session.id, allow_unencrypted_agent: false });
  t.ok(Number.isInteger(joined.viewer_id) && joined.viewer_id > 0 && joined.viewer_id <= 0xffff, 'a uint16 viewer id, never 0');
  t.match(await nextOf(v1, 'udp_ticket'), { udp_port: session.udp_port });
  t.same(await nextOf(v1, 'status'), { type: 'status', status: 'pending' });
  const commitment = key();
  v1.send({ type: 'key_commit', commitment });

  const agent = await openSignal(broker.url, session.session_code);
  t.teardown(() => agent.ws.close());
  const welcome = await nextOf(agent, 'agent_welcome');
  t.match(welcome, { session_id: session.id, resumed: false, agent_secret: /^[\w-]{43}$/ });
  t.same(
    await nextOf(agent, 'viewer'),
    { type: 'viewer', viewer_id: joined.viewer_id, full_name: 'Tina Tech', email: 'tech@example.com', commitment },
    'the customer learns who is asking, with the commitment made before',
  );
  t.same(await nextOf(v1, 'status'), { type: 'status', status: 'active' });

  const v2 = await openSignal(broker.url, session.session_code, admin);
  t.teardown(() => v2.ws.close());
  const v2Id = (await nextOf(v2, 'joined')).viewer_id;
  t.not(v2Id, joined.viewer_id, 'each viewer its own id');
  const agentKey1 = key();
  const agentKey2 = key();
  agent.send({ type: 'agent_key', viewer_id: joined.viewer_id, public_key: agentKey1 });
  agent.send({ type: 'agent_key', viewer_id: v2Id, public_key: agentKey2 });
  t.same(await nextOf(v1, 'agent_key'), { type: 'agent_key', viewer_id: joined.viewer_id, public_key: agentKey1 });
  t.same(await nextOf(v2, 'agent_key'), { type: 'agent_key', viewer_id: v2Id, public_key: agentKey2 });
  t.same(
    v2.messages.items.filter((m) => m.type === 'agent_key'),
    [],
    "the second viewer never saw the first one's key",
  );

  const viewerKey = key();
  v2.send({ type: 'viewer_key', viewer_id: joined.viewer_id, public_key: viewerKey });
  t.same(
    await nextOf(agent, 'viewer_key'),
    { type: 'viewer_key', viewer_id: v2Id, public_key: viewerKey },
    'a viewer speaks only for itself: the broker puts its own id',
  );
  v1.ws.close();
  t.same(await nextOf(agent, 'viewer_left'), { type: 'viewer_left', viewer_id: joined.viewer_id });
});

t.test('a second agent with the code alone is refused (4009); the first keeps working', async (t) => {
  const session = await newSession(t);
  const agent = await joinAgent(t, session);
  const viewer = await joinViewer(t, session);
  const takeover = await openSignal(broker.url, session.session_code);
  t.same(await takeover.closed, { code: 4009, reason: 'An agent is already connected to this session' });
  t.same(takeover.messages.items, [], 'the intruder got no welcome, no secret');
  agent.ws.send({ type: 'ping' });
  t.same(await nextOf(agent.ws, 'pong'), { type: 'pong' }, 'the first agent is untouched');
  const commitment = key();
  viewer.ws.send({ type: 'key_commit', commitment });
  t.match(await nextOf(agent.ws, 'viewer'), { commitment }, 'and still hears the viewers');
  const frame = sealedDatagram(false, viewer.id, opaque());
  await agent.udp.send(frame, session.udp_port);
  t.ok((await viewer.udp.received.next((d) => d.data[0] === 5)).data.equals(frame), 'its datagrams still flow');
});

t.test('the agent resumes with its secret; a wrong secret is refused (4010)', async (t) => {
  const session = await newSession(t);
  const agent = await joinAgent(t, session);
  const viewer = await joinViewer(t, session);
  const commitment = key();
  viewer.ws.send({ type: 'key_commit', commitment });
  await nextOf(agent.ws, 'viewer');

  const wrong = await openSignal(broker.url, session.session_code, { agentSecret: key() });
  t.equal((await wrong.closed).code, 4010, 'a wrong secret');
  t.same(wrong.messages.items, []);

  // The old connection is stale (a laptop that changed networks): the resume replaces it.
  const resumed = await openSignal(broker.url, session.session_code, { agentSecret: agent.secret });
  t.teardown(() => resumed.ws.close());
  t.same(
    await nextOf(resumed, 'agent_welcome'),
    { type: 'agent_welcome', session_id: session.id, resumed: true, viewers: [viewer.id] },
    'welcomed back, told which viewers the broker holds',
  );
  t.equal((await agent.ws.closed).code, 4000, 'its own stale socket is closed');
  t.match(await nextOf(resumed, 'viewer'), { viewer_id: viewer.id, commitment }, "each viewer's message again, with its commitment");
  resumed.send({ type: 'ping' });
  await nextOf(resumed, 'pong');
  t.same(
    viewer.ws.messages.items.filter((m) => m.type === 'agent_joined'),
    [],
    'nothing changes for the viewers',
  );
});

t.test('a new agent after the old one left: new secret, viewers told, old commitments and address forgotten', async (t) => {
  const session = await newSession(t);
  const first = await joinAgent(t, session);
  const viewer = await joinViewer(t, session);
  viewer.ws.send({ type: 'key_commit', commitment: key() });
  await nextOf(first.ws, 'viewer');
  first.ws.send({ type: 'disconnect' });
  await first.ws.closed;

  const second = await openSignal(broker.url, session.session_code);
  t.teardown(() => second.ws.close());
  const welcome = await nextOf(second, 'agent_welcome');
  t.match(welcome, { resumed: false, agent_secret: /^[\w-]{43}$/ });
  t.not(welcome.agent_secret, first.secret, 'a new secret');
  t.same(await nextOf(viewer.ws, 'agent_joined'), { type: 'agent_joined', resumed: false });
  const fresh = key();
  viewer.ws.send({ type: 'key_commit', commitment: fresh });
  t.match(
    await nextOf(second, 'viewer'),
    { viewer_id: viewer.id, commitment: fresh },
    'the first viewer message the new agent gets carries the new commitment: the old one was discarded',
  );
  t.equal((await stats(session.id)).agent_pinned, false, "the old agent's UDP address is forgotten");
  await first.udp.send(provenHandshake(session.session_code, first.secret, ticksLater()), session.udp_port);
  await statsWhen(session.id, (s) => s.handshakes_bad_proof === 1, 'the old proof refused');
  const stale = await openSignal(broker.url, session.session_code, { agentSecret: first.secret });
  t.equal((await stale.closed).code, 4010, 'the old secret resumes nothing');
});

t.test('UDP: the code alone, a replayed proof or a wrong secret cannot move the agent', async (t) => {
  const session = await newSession(t);
  const agent = await joinAgent(t, session);
  const viewer = await joinViewer(t, session);
  const intruder = await openUdp();
  t.teardown(() => intruder.close());
  const timestamp = ticksLater();
  const genuine = provenHandshake(session.session_code, agent.secret, timestamp);
  await agent.udp.send(genuine, session.udp_port);
  await statsWhen(session.id, (s) => s.handshakes_accepted === 2, 'the genuine re-handshake');

  await intruder.send(
    encodeHandshake({ session_code: session.session_code, screen_width: 800, screen_height: 600, timestamp: Date.now() }),
    session.udp_port,
  );
  await intruder.send(genuine, session.udp_port); // captured on the wire and replayed
  await intruder.send(provenHandshake(session.session_code, key(), ticksLater()), session.udp_port);
  const refused = await statsWhen(session.id, (s) => s.handshakes_bad_proof + s.handshakes_no_proof === 3, 'three refused handshakes');
  t.match(refused, { handshakes_no_proof: 1, handshakes_bad_proof: 2, handshakes_accepted: 2, agent_repins: 0 });

  const input = sealedDatagram(true, viewer.id, opaque());
  await viewer.udp.send(input, session.udp_port);
  t.ok((await agent.udp.received.next((d) => d.data.equals(input))).data, "the viewer's datagrams still reach the real agent");
  t.same(intruder.received.items, [], 'the intruder got nothing');

  const moved = await openUdp();
  t.teardown(() => moved.close());
  await moved.send(provenHandshake(session.session_code, agent.secret, ticksLater()), session.udp_port);
  await statsWhen(session.id, (s) => s.agent_repins === 1, 'the re-pin');
  await viewer.udp.send(input, session.udp_port);
  t.ok(await moved.received.next((d) => d.data.equals(input)), 'the agent itself re-pins at once with a fresh proof');
});

t.test('sealed datagrams go only to the viewer in their header; a viewer cannot use another id', async (t) => {
  const session = await newSession(t);
  const agent = await joinAgent(t, session);
  const v1 = await joinViewer(t, session);
  const v2 = await joinViewer(t, session, admin);
  const toV1 = sealedDatagram(false, v1.id, opaque());
  const toV2 = sealedDatagram(false, v2.id, opaque());
  const toNobody = sealedDatagram(false, 0xfffe === v1.id || 0xfffe === v2.id ? 0xfffd : 0xfffe, opaque());
  for (const d of [toV1, toNobody, toV2]) await agent.udp.send(d, session.udp_port);
  t.ok(await v1.udp.received.next((d) => d.data.equals(toV1)));
  t.ok(await v2.udp.received.next((d) => d.data.equals(toV2)));
  t.same(
    v2.udp.received.items.map((d) => d.data[0]),
    [],
    'the second viewer got only its own',
  );
  t.same(
    v1.udp.received.items.map((d) => d.data[0]),
    [],
    'and so did the first',
  );

  const forged = sealedDatagram(true, v1.id, opaque());
  const own = sealedDatagram(true, v2.id, opaque());
  const wrongWay = sealedDatagram(false, v1.id, opaque());
  for (const d of [forged, wrongWay, own]) await v2.udp.send(d, session.udp_port);
  t.ok(await agent.udp.received.next((d) => d.data.equals(own)), "the viewer's own datagram reaches the agent");
  t.same(
    agent.udp.received.items.map((d) => d.data.toString('hex')),
    [],
    "nothing sent under the other viewer's id, nothing of the wrong type",
  );
  t.same(v1.udp.received.items, [], 'nor was anything turned round to the first viewer');
  t.match(await stats(session.id), { dropped_wrong_viewer: 1, dropped_no_peer: 1, sealed_forwarded: 3 });
});

t.test('clear frames, input and party control are dropped in a sealed session', async (t) => {
  const session = await newSession(t);
  const agent = await joinAgent(t, session);
  const viewer = await joinViewer(t, session);
  const clearFrame = Buffer.concat([Buffer.from([1]), Buffer.alloc(20), Buffer.from('jpeg')]);
  clearFrame.writeInt32LE(1, 13);
  clearFrame.writeInt32LE(4, 17);
  for (const d of [clearFrame, control({ type: 'screen', width: 10, height: 10 }), control({ type: 'keepalive' })]) {
    await agent.udp.send(d, session.udp_port);
  }
  for (const d of [Buffer.from([3, 0x41, 0, 1]), control({ type: 'request_keyframe' })]) await viewer.udp.send(d, session.udp_port);
  const marker = sealedDatagram(false, viewer.id, opaque());
  await agent.udp.send(marker, session.udp_port);
  await viewer.udp.received.next((d) => d.data.equals(marker));
  t.same(viewer.udp.received.items, [], 'the viewer got nothing in clear');
  const counters = await statsWhen(session.id, (s) => s.dropped_clear === 4, 'four clear datagrams dropped');
  t.match(counters, { keepalives: 1, frames_chunks_forwarded: 0, input_forwarded: 0 });
  t.same(agent.udp.received.items, [], 'the agent got nothing in clear');
});

t.test('tickets are single-use: a replay from a new address fails', async (t) => {
  const session = await newSession(t);
  const agent = await joinAgent(t, session);
  const ws = await openSignal(broker.url, session.session_code, tech);
  t.teardown(() => ws.ws.close());
  const { viewer_id: viewerId } = await nextOf(ws, 'joined');
  const { ticket } = await nextOf(ws, 'udp_ticket');
  const viewer = await openUdp();
  const thief = await openUdp();
  t.teardown(() => [viewer, thief].forEach((p) => p.close()));
  await pinViewer(viewer, session.udp_port, ticket);
  await thief.send(control({ type: 'viewer_hello', ticket }), session.udp_port);
  await statsWhen(session.id, (s) => s.tickets_replayed === 1, 'the replay counted');
  const frame = sealedDatagram(false, viewerId, opaque());
  await agent.udp.send(frame, session.udp_port);
  await viewer.received.next((d) => d.data.equals(frame));
  t.same(thief.received.items, [], 'the replayed ticket earned no ack and no frame');

  ws.send({ type: 'udp_ticket_request' });
  ws.send({ type: 'udp_ticket_request' });
  const fresh = await nextOf(ws, 'udp_ticket');
  t.not(fresh.ticket, ticket, 'a fresh ticket on request');
  ws.send({ type: 'ping' });
  await nextOf(ws, 'pong');
  t.same(
    ws.messages.items.filter((m) => m.type === 'udp_ticket'),
    [],
    'at most one a second',
  );
});

t.test('an address that never confirms gets one small ack and nothing else (no amplification)', async (t) => {
  const session = await newSession(t);
  const agent = await joinAgent(t, session);
  const viewer = await joinViewer(t, session);
  // A second viewer connection's ticket, presented from a socket that never echoes the cookie (as
  // a forged source address could not).
  const second = await openSignal(broker.url, session.session_code, tech);
  t.teardown(() => second.ws.close());
  const { viewer_id: secondId } = await nextOf(second, 'joined');
  const { ticket } = await nextOf(second, 'udp_ticket');
  const victim = await openUdp();
  t.teardown(() => victim.close());
  const hello = control({ type: 'viewer_hello', ticket });
  await victim.send(hello, session.udp_port);
  const ack = await victim.received.next((d) => controlOf(d.data)?.type === 'viewer_ack');
  t.ok(ack.data.length <= 3 * hello.length, `the ack (${ack.data.length} bytes) is at most 3× the hello (${hello.length})`);

  for (let i = 0; i < 20; i++) {
    await agent.udp.send(sealedDatagram(false, secondId, opaque(), BigInt(i)), session.udp_port);
    await agent.udp.send(sealedDatagram(false, viewer.id, opaque(), BigInt(i)), session.udp_port);
  }
  await victim.send(control({ type: 'keepalive' }), session.udp_port);
  await victim.send(control({ type: 'viewer_confirm', cookie: 'not-the-cookie' }), session.udp_port);
  const last = sealedDatagram(false, viewer.id, opaque(), 99n);
  await agent.udp.send(last, session.udp_port);
  await viewer.udp.received.next((d) => d.data.equals(last));
  t.same(victim.received.items, [], 'nothing but the one ack while frames flowed');
  t.match(await statsWhen(session.id, (s) => s.confirms_refused === 1, 'the wrong cookie'), { viewers_pinned: 1 });
});

t.test('the fifth viewer is refused (4029)', async (t) => {
  const session = await newSession(t);
  const viewers: SignalPeer[] = [];
  for (let i = 0; i < 4; i++) {
    const ws = await openSignal(broker.url, session.session_code, i % 2 ? admin : tech);
    t.teardown(() => ws.ws.close());
    await nextOf(ws, 'joined');
    viewers.push(ws);
  }
  const fifth = await openSignal(broker.url, session.session_code, tech);
  t.same(await fifth.closed, { code: 4029, reason: 'This session already has 4 viewers' });
  viewers[0]!.ws.close();
  await viewers[0]!.closed;
  let again: SignalPeer | undefined;
  // The broker learns of the close a moment after the client: retry until the place is free.
  for (const until = Date.now() + PATIENCE_MS; !again && Date.now() < until;) {
    const attempt = await openSignal(broker.url, session.session_code, tech);
    const first = await Promise.race([nextOf(attempt, 'joined'), attempt.closed]);
    if ('viewer_id' in first) again = attempt;
  }
  t.ok(again, 'a place freed is taken again');
  again?.ws.close();
});

t.test("a disabled user's pinned viewer is cut off at once, both ways", async (t) => {
  const dora = await newUser('dora@example.com', { full_name: 'Dora' });
  const session = await newSession(t, dora);
  const agent = await joinAgent(t, session);
  const tina = await joinViewer(t, session, dora);
  const watcher = await joinViewer(t, session, admin);
  let sent = 0n;
  const streaming = setInterval(() => void agent.udp.send(sealedDatagram(false, tina.id, opaque(), ++sent), session.udp_port), 20);
  t.teardown(() => clearInterval(streaming));
  await tina.udp.received.next((d) => d.data[0] === 5);

  // Her viewer does not read its WebSocket (so it never completes the close): the relay must not wait for it.
  const socket = (tina.ws.ws as unknown as { _socket: Duplex })._socket;
  socket.pause();
  const users = (await call<User[]>(broker.api, 'GET', '/users', { token: admin })).body;
  const doraId = users.find((u) => u.email === 'dora@example.com')!.id;
  await call(broker.api, 'PATCH', `/users/${doraId}`, { token: admin, body: { is_active: false } });
  t.match(await stats(session.id), { viewers_pinned: 1 }, 'the relay forgot her address before the PATCH even answered');
  t.same(await nextOf(agent.ws, 'viewer_left'), { type: 'viewer_left', viewer_id: tina.id });
  t.equal(tina.ws.ws.readyState, tina.ws.ws.OPEN, 'the agent is told without waiting for her WebSocket to close');
  const lastBefore = sent;

  const fromTina = sealedDatagram(true, tina.id, opaque());
  await tina.udp.send(fromTina, session.udp_port);
  // At least one datagram for her after the cut, whatever the timer did: the relay handles the
  // agent's datagrams in order, so once the marker reaches the watcher this one was dealt with.
  await agent.udp.send(sealedDatagram(false, tina.id, opaque(), ++sent), session.udp_port);
  const marker = sealedDatagram(false, watcher.id, opaque());
  await agent.udp.send(marker, session.udp_port);
  await watcher.udp.received.next((d) => d.data.equals(marker));
  const fromWatcher = sealedDatagram(true, watcher.id, opaque());
  await watcher.udp.send(fromWatcher, session.udp_port);
  await agent.udp.received.next((d) => d.data.equals(fromWatcher));
  t.same(
    tina.udp.received.items.filter((d) => d.data.readBigUInt64LE(4) > lastBefore),
    [],
    'nothing sent after the cut reaches the disabled user',
  );
  t.notOk(
    agent.udp.received.items.some((d) => d.data.equals(fromTina)),
    'and nothing of theirs reaches the agent',
  );
  t.match(await stats(session.id), { viewers_pinned: 1 });
  socket.resume();
  t.same(await tina.ws.closed, { code: 4001, reason: 'Your login is no longer valid: log in again' });
});

t.test('an admin demoted to tech loses the sessions of others (4003)', async (t) => {
  const session = await newSession(t);
  await joinAgent(t, session);
  const token = await newUser('admin3@example.com', { role: 'admin' });
  const viewer = await joinViewer(t, session, token);
  const users = (await call<User[]>(broker.api, 'GET', '/users', { token: admin })).body;
  const id = users.find((u) => u.email === 'admin3@example.com')!.id;
  await call(broker.api, 'PATCH', `/users/${id}`, { token: admin, body: { role: 'tech' } });
  t.same(await viewer.ws.closed, { code: 4003, reason: 'You may no longer open this session' });
  t.match(await stats(session.id), { viewers_pinned: 0 });
});

t.test('once an address is throttled, the agent WebSocket answers 429 for live and unknown codes alike', async (t) => {
  const session = await newSession(t);
  const from = { 'x-forwarded-for': '203.0.113.9' };
  let misses = 0;
  while ((await call(broker.api, 'GET', '/sessions/000000001/info', { headers: from })).status === 404) misses++;
  t.ok(misses > 0, `throttled after ${misses} unknown codes`);
  t.equal(await refusal(openSignal(broker.url, session.session_code, { headers: from })), 429, 'a live code');
  t.equal(await refusal(openSignal(broker.url, '000000002', { headers: from })), 429, 'an unknown code');
  t.equal((await call(broker.api, 'GET', `/sessions/${session.session_code}/info`, { headers: from })).status, 429, 'and the info route');

  // The WebSocket's misses count in the same throttle.
  const ws = { 'x-forwarded-for': '203.0.113.10' };
  let wsMisses = 0;
  for (;;) {
    const status = await refusal(openSignal(broker.url, '000000003', { headers: ws }));
    if (status === 429) break;
    wsMisses++;
  }
  t.equal(wsMisses, misses, 'unknown codes on the WebSocket use up the same allowance');
  t.equal((await call(broker.api, 'GET', `/sessions/${session.session_code}/info`, { headers: ws })).status, 429);
  const elsewhere = await openSignal(broker.url, session.session_code, { headers: { 'x-forwarded-for': '203.0.113.11' } });
  t.match(await nextOf(elsewhere, 'agent_welcome'), { resumed: false }, 'another address is not affected');
  elsewhere.ws.close();
});

// Last: it blocks this test's address (127.0.0.1) for handshakes for the rest of the minute.
t.test('UDP handshakes with wrong codes: after 10 in a minute the address is ignored', async (t) => {
  const session = await newSession(t);
  const welcome = await (async () => {
    const ws = await openSignal(broker.url, session.session_code);
    t.teardown(() => ws.ws.close());
    return nextOf(ws, 'agent_welcome');
  })();
  const guesser = await openUdp();
  t.teardown(() => guesser.close());
  for (let i = 0; i < 10; i++) {
    const code = String(100_000_000 + i);
    const timestamp = Date.now();
    const proof = agentHandshakeProof(key(), code, timestamp);
    await guesser.send(
      encodeHandshake({ session_code: code, screen_width: 1, screen_height: 1, timestamp, agent_proof: proof }),
      session.udp_port,
    );
  }
  await statsWhen(session.id, (s) => s.handshakes_wrong_code === 10, 'ten wrong codes');
  await guesser.send(provenHandshake(session.session_code, welcome.agent_secret!, ticksLater()), session.udp_port);
  const counters = await statsWhen(session.id, (s) => s.handshakes_throttled === 1, 'the next handshake ignored');
  t.match(counters, { agent_pinned: false, handshakes_wrong_code: 10 }, 'even a valid one, for the rest of the minute');
});

t.test('an active session with no agent datagram and no viewer closes after --idle-timeout', async (t) => {
  const own = await startBrokerProcess({ args: ['--idle-timeout', '2s', '--agent-timeout', '1s'] });
  t.teardown(() => own.stop());
  const token = await login(own.api);
  const session = (await call<Session>(own.api, 'POST', '/sessions', { token, body: {} })).body;
  const agentWs = await openSignal(own.url, session.session_code);
  t.teardown(() => agentWs.ws.close());
  await nextOf(agentWs, 'agent_welcome');
  t.equal((await call(own.api, 'GET', `/sessions/${session.session_code}/info`)).body.status, 'active');
  const viewer = await openSignal(own.url, session.session_code, token);
  await nextOf(viewer, 'joined');
  // A twin session, made after this one and without a viewer: once the idle sweep has closed it,
  // this one has been idle as long, and only its viewer can have kept it open.
  const twin = (await call<Session>(own.api, 'POST', '/sessions', { token, body: {} })).body;
  const twinAgent = await openSignal(own.url, twin.session_code);
  t.teardown(() => twinAgent.ws.close());
  await nextOf(twinAgent, 'agent_welcome');
  t.same(await nextOf(twinAgent, 'disconnect'), { type: 'disconnect' }, 'the twin without a viewer closed');
  t.equal((await call(own.api, 'GET', `/sessions/${session.session_code}/info`)).status, 200, 'a viewer keeps it open');
  viewer.ws.close();
  t.same(await nextOf(agentWs, 'disconnect'), { type: 'disconnect' }, 'then it is closed');
  t.equal((await call(own.api, 'GET', `/sessions/${session.session_code}/info`)).status, 410);
});

// The broker as a relay for the reference Windows client, against a real `rac serve` process. The
// test plays the client byte for byte (raw JSON handshake, little-endian type-1 chunks of 60000
// bytes, .NET ticks as frame ids) in sessions created with allow_unencrypted_agent, and a viewer
// (WebSocket with a token, udp_ticket, viewer_hello and cookie echo). Without the flag the same
// client is ignored. The sealed protocol and its attacks are in broker-session-security.test.ts.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { Session } from '../src/protocol/broker-api.js';
import { NAMED_RELAY, call, login, type SessionStats, startBrokerProcess } from './helpers/broker-process.js';
import {
  allowUnencryptedAgent,
  control,
  controlOf,
  nextOf,
  openSignal,
  openUdp,
  pinViewer,
  provenHandshake,
  refusal,
  sleep,
  udpBindError,
} from './helpers/session-peers.js';

/** What RemoteAccessClient.cs writes with a BinaryWriter for one chunk (little-endian). */
function referenceChunk(frameId: bigint, index: number, total: number, size: number, data: Buffer): Buffer {
  const header = Buffer.alloc(21);
  header.writeUInt8(1, 0);
  header.writeBigInt64LE(frameId, 1);
  header.writeInt32LE(index, 9);
  header.writeInt32LE(total, 13);
  header.writeInt32LE(size, 17);
  return Buffer.concat([header, data]);
}

function referenceFrame(frameId: bigint, jpeg: Buffer, chunkSize = 60000): Buffer[] {
  const total = Math.ceil(jpeg.length / chunkSize);
  return Array.from({ length: total }, (_, i) =>
    referenceChunk(frameId, i, total, jpeg.length, jpeg.subarray(i * chunkSize, (i + 1) * chunkSize)),
  );
}

const ticksNow = () => BigInt(Date.now()) * 10_000n + 621_355_968_000_000_000n;
const handshake = (code: string) =>
  `{"type":"handshake","session_code":"${code}","screen_width":1920,"screen_height":1080,"timestamp":${ticksNow()}}`;

// The sessions of the reference client are prepared first, then the broker restarts with them
// marked allow_unencrypted_agent (the flag is fixed when a session is created).
const first = await startBrokerProcess({ args: ['--agent-timeout', '1500ms'] });
const admin = await login(first.api);
await call(first.api, 'POST', '/users', {
  token: admin,
  body: { email: 'tech@example.com', password: 'tech-password', full_name: 'Tina Tech' },
});
await call(first.api, 'POST', '/users', { token: admin, body: { email: 'other@example.com', password: 'other-password' } });
const firstTech = await login(first.api, 'tech@example.com', 'tech-password');
const prepared: Session[] = [];
for (let i = 0; i < 5; i++) {
  prepared.push((await call<Session>(first.api, 'POST', '/sessions', { token: firstTech, body: { customer_name: 'Carl' } })).body);
}
await first.stop();
await allowUnencryptedAgent(
  first,
  prepared.map((s) => s.id),
);
const broker = await startBrokerProcess({ dataDir: first.dataDir, udpPorts: first.udpPorts, args: ['--agent-timeout', '1500ms'] });
t.teardown(() => broker.stop());
const tech = await login(broker.api, 'tech@example.com', 'tech-password');
const other = await login(broker.api, 'other@example.com', 'other-password');

/** A reference-client session: a pinned viewer, then the client's plain handshake (no WebSocket). */
async function joinedSession() {
  const session = prepared.shift()!;
  const viewerWs = await openSignal(broker.url, session.session_code, tech);
  const joined = await nextOf(viewerWs, 'joined');
  const ticket = await nextOf(viewerWs, 'udp_ticket');
  const agent = await openUdp();
  const viewer = await openUdp();
  await pinViewer(viewer, session.udp_port, ticket.ticket);
  await agent.send(handshake(session.session_code), session.udp_port);
  await viewer.received.next((d) => controlOf(d.data)?.type === 'screen', 5000, 'screen from the handshake');
  return { session, viewerWs, joined, agent, viewer };
}

t.test('signalling: who may connect', async (t) => {
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: tech, body: {} })).body;
  const unknown = await openSignal(broker.url, session.session_code === '999999999' ? '999999998' : '999999999');
  t.same(await unknown.closed, { code: 1008, reason: 'Session not found' });
  const malformed = await openSignal(broker.url, 'abc');
  t.same(await malformed.closed, { code: 1008, reason: 'Session not found' });
  t.equal(await refusal(openSignal(broker.url, session.session_code, other)), 403, 'another tech cannot watch');
  t.equal(await refusal(openSignal(broker.url, session.session_code, 'bad.token.here')), 401);
  const byAdmin = await openSignal(broker.url, session.session_code, admin);
  t.match(await nextOf(byAdmin, 'udp_ticket'), { udp_port: session.udp_port }, 'an admin may');
  byAdmin.ws.close();
  const viaApi = await openSignal(broker.url.replace(/\/?$/, '') + '/api', session.session_code);
  t.match(await nextOf(viaApi, 'agent_welcome'), { resumed: false }, '/api/ws/session/{code} works too');
  viaApi.ws.close();
  await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: tech });
  const closed = await openSignal(broker.url, session.session_code);
  t.same(await closed.closed, { code: 1008, reason: 'Session closed' });
  const viewerOfClosed = await openSignal(broker.url, session.session_code, tech);
  t.same(await viewerOfClosed.closed, { code: 1008, reason: 'Session closed' }, 'for the viewer too');
  t.equal((await call(broker.api, 'GET', `/sessions/${session.session_code}/info`)).status, 410, 'a closed session is never reopened');
});

t.test('a 150 KB frame from the reference client arrives byte-identical; input goes back', async (t) => {
  const { session, viewerWs, joined, agent, viewer } = await joinedSession();
  t.teardown(() => {
    agent.close();
    viewer.close();
    viewerWs.ws.close();
  });
  t.equal(joined.allow_unencrypted_agent, true, 'the viewer is told the session accepts the unencrypted client');
  t.match(await viewerWs.messages.next((m) => m.type === 'status' && m.status === 'active'), {}, 'its handshake made it active');
  const jpeg = randomBytes(150 * 1024);
  const sent = referenceFrame(ticksNow(), jpeg);
  t.equal(sent.length, 3, 'three 60000-byte chunks');
  for (const datagram of sent) await agent.send(datagram, session.udp_port);
  const got: Buffer[] = [];
  for (let i = 0; i < sent.length; i++) got.push((await viewer.received.next((d) => d.data[0] === 1, 5000, `chunk ${i}`)).data);
  t.same(got.map((d) => d.toString('hex')).sort(), sent.map((d) => d.toString('hex')).sort(), 'every datagram byte-identical');
  const reassembled = Buffer.concat(got.sort((a, b) => a.readInt32LE(9) - b.readInt32LE(9)).map((d) => d.subarray(21)));
  t.ok(reassembled.equals(jpeg), 'the frame reassembles to the original');

  const mouse = Buffer.from([2, 0x10, 0x02, 0, 0, 0x20, 0x01, 0, 0, 1, 1]); // (528, 288) left down
  const key = Buffer.from([3, 0x41, 0x00, 1]); // 'A' down
  const keyframe = control({ type: 'request_keyframe' });
  for (const datagram of [mouse, key, keyframe]) await viewer.send(datagram, session.udp_port);
  for (const datagram of [mouse, key, keyframe]) {
    const arrived = await agent.received.next((d) => d.data.equals(datagram), 5000, `packet type ${datagram[0]} at the agent`);
    t.equal(arrived.from.port, session.udp_port, `type ${datagram[0]} arrives byte-identical from the broker`);
  }
  const agentControl = control({ type: 'screen', width: 1280, height: 720 });
  await agent.send(agentControl, session.udp_port);
  t.ok(await viewer.received.next((d) => d.data.equals(agentControl)), "the agent's control messages reach the viewer");

  const stats = await call<SessionStats>(broker.api, 'GET', `/sessions/${session.id}/stats`, { token: tech });
  t.match(stats.body.relay, { agent_pinned: true, viewers_pinned: 1, frames_chunks_forwarded: 3, input_forwarded: 2 });
});

t.test('nothing from a third socket reaches either side', async (t) => {
  const { session, viewerWs, agent, viewer } = await joinedSession();
  const intruder = await openUdp();
  t.teardown(() => [agent, viewer, intruder].forEach((p) => p.close()));
  t.teardown(() => viewerWs.ws.close());

  const keepStreaming = setInterval(() => void agent.send(control({ type: 'keepalive' }), session.udp_port), 200);
  t.teardown(() => clearInterval(keepStreaming));
  const spoofed = [
    Buffer.from([2, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1]),
    Buffer.from([3, 0x5b, 0, 1]), // the Windows key
    control({ type: 'request_keyframe' }),
    control({ type: 'viewer_hello', ticket: 'guessed' }),
    control({ type: 'viewer_confirm', cookie: 'guessed' }),
    referenceChunk(1n, 0, 1, 4, Buffer.from('fake')),
    Buffer.from(handshake(session.session_code)), // the code alone cannot take over a live agent
  ];
  for (const datagram of spoofed) await intruder.send(datagram, session.udp_port);
  // Then a legit input packet, to prove the path works and nothing came before it: the spoofs are
  // queued at the relay's socket first, and the relay handles its socket's datagrams in order.
  const legit = Buffer.from([3, 0x42, 0, 1]);
  await viewer.send(legit, session.udp_port);
  await agent.received.next((d) => d.data.equals(legit));
  t.same(
    agent.received.items.map((d) => d.data.toString('hex')),
    [],
    'the agent received nothing spoofed',
  );
  t.notOk(
    viewer.received.items.some((d) => spoofed.some((s) => s.equals(d.data))),
    'nor did the viewer',
  );
  t.same(intruder.received.items, [], 'and the intruder got no answer');
  const stats = (await call<SessionStats>(broker.api, 'GET', `/sessions/${session.id}/stats`, { token: tech })).body.relay!;
  t.ok(stats.dropped_unknown_source >= 4, 'dropped and counted');
  t.equal(stats.tickets_refused, 1, 'the guessed ticket was refused');
  t.equal(stats.confirms_refused, 1, 'and the guessed cookie');
  t.equal(stats.agent_repins_refused, 1, 'the handshake from elsewhere was refused');
});

t.test('UDP silence marks the session disconnected; the stream coming back makes it active', async (t) => {
  const { session, viewerWs, agent, viewer } = await joinedSession();
  t.teardown(() => [agent, viewer].forEach((p) => p.close()));
  t.teardown(() => viewerWs.ws.close());
  t.same(await nextOf(viewerWs, 'status'), { type: 'status', status: 'pending' });
  t.same(await nextOf(viewerWs, 'status'), { type: 'status', status: 'active' }, 'the handshake');
  t.same(
    await viewerWs.messages.next((m) => m.type === 'status', 6000),
    { type: 'status', status: 'disconnected' },
    'silent past --agent-timeout',
  );
  await agent.send(control({ type: 'keepalive' }), session.udp_port);
  t.same(await viewerWs.messages.next((m) => m.type === 'status', 6000), { type: 'status', status: 'active' });
});

t.test('DELETE sends disconnect to both sides, over WebSocket and UDP, and frees the port', async (t) => {
  const { session, viewerWs, agent, viewer } = await joinedSession();
  t.teardown(() => [agent, viewer].forEach((p) => p.close()));
  // Our agent in the same session: it has a WebSocket too.
  const agentWs = await openSignal(broker.url, session.session_code);
  await nextOf(agentWs, 'agent_welcome');
  t.equal((await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: tech })).status, 200);
  t.same(await nextOf(agentWs, 'disconnect'), { type: 'disconnect' });
  t.same(await nextOf(viewerWs, 'disconnect'), { type: 'disconnect' });
  t.ok(await viewerWs.messages.next((m) => m.type === 'status' && m.status === 'closed'), 'the viewer is told the status');
  t.same(controlOf((await agent.received.next((d) => controlOf(d.data)?.type === 'disconnect')).data), {
    type: 'disconnect',
    reason: 'closed',
  });
  t.same(controlOf((await viewer.received.next((d) => controlOf(d.data)?.type === 'disconnect')).data), {
    type: 'disconnect',
    reason: 'closed',
  });
  t.equal((await agentWs.closed).code, 1000);
  t.equal((await viewerWs.closed).code, 1000);
  t.equal(await udpBindError(session.udp_port), null, 'the port is free');
});

t.test('without allow_unencrypted_agent the reference client is ignored', async (t) => {
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: tech, body: {} })).body;
  const viewerWs = await openSignal(broker.url, session.session_code, tech);
  t.teardown(() => viewerWs.ws.close());
  t.match(await nextOf(viewerWs, 'joined'), { allow_unencrypted_agent: false });
  const ticket = await nextOf(viewerWs, 'udp_ticket');
  const [agent, viewer] = [await openUdp(), await openUdp()];
  t.teardown(() => [agent, viewer].forEach((p) => p.close()));
  await pinViewer(viewer, session.udp_port, ticket.ticket);
  await agent.send(handshake(session.session_code), session.udp_port);
  await agent.send(referenceChunk(ticksNow(), 0, 1, 4, Buffer.from('jpeg')), session.udp_port);
  await viewer.send(Buffer.from([3, 0x41, 0, 1]), session.udp_port);
  // The viewer's own keepalive is consumed too; its count proves the relay has read everything before it.
  await viewer.send(control({ type: 'keepalive' }), session.udp_port);
  let stats: NonNullable<SessionStats['relay']>;
  while (!(stats = (await call<SessionStats>(broker.api, 'GET', `/sessions/${session.id}/stats`, { token: tech })).body.relay!).keepalives)
    await sleep(50);
  t.match(stats, { agent_pinned: false, handshakes_no_proof: 1, frames_chunks_forwarded: 0, input_forwarded: 0 });
  t.equal(stats.dropped_clear, 1, "the viewer's clear key is dropped");
  t.same(viewer.received.items, [], 'the viewer got no frame and no screen');
  t.same(agent.received.items, [], 'the client got nothing');
  t.equal(
    (await call(broker.api, 'GET', `/sessions/${session.session_code}/info`)).body.status,
    'pending',
    'and the session stays pending',
  );
});

t.test('after a broker restart the session gets its port back and both sides re-pin', async (t) => {
  const own = await startBrokerProcess();
  const token = await login(own.api);
  const session = (await call<Session>(own.api, 'POST', '/sessions', { token, body: {} })).body;
  const agentWs = await openSignal(own.url, session.session_code);
  const secret = (await nextOf(agentWs, 'agent_welcome')).agent_secret!;
  const viewerWs = await openSignal(own.url, session.session_code, token);
  const firstTicket = await nextOf(viewerWs, 'udp_ticket');
  const agent = await openUdp();
  const viewer = await openUdp();
  t.teardown(() => [agent, viewer].forEach((p) => p.close()));
  await pinViewer(viewer, session.udp_port, firstTicket.ticket);
  await agent.send(provenHandshake(session.session_code, secret), session.udp_port);
  await viewerWs.messages.next((m) => m.type === 'status' && m.status === 'active');

  await own.stop();
  t.same(
    controlOf((await agent.received.next((d) => controlOf(d.data)?.type === 'disconnect')).data),
    { type: 'disconnect', reason: 'shutdown' },
    'shutdown tells the agent why',
  );
  t.same(controlOf((await viewer.received.next((d) => controlOf(d.data)?.type === 'disconnect')).data), {
    type: 'disconnect',
    reason: 'shutdown',
  });
  t.equal((await viewerWs.closed).code, 1012, 'the viewer WebSocket closes with "service restart"');
  t.equal((await agentWs.closed).code, 1012, 'and the agent WebSocket');

  const again = await startBrokerProcess({ dataDir: own.dataDir, udpPorts: own.udpPorts });
  t.teardown(() => again.stop());
  const info = await call(again.api, 'GET', `/sessions/${session.session_code}/info`);
  t.same(
    info.body,
    {
      session_code: session.session_code,
      udp_port: session.udp_port,
      status: 'disconnected',
      allow_unencrypted_agent: false,
      ...NAMED_RELAY,
    },
    'same port; nobody connected yet',
  );
  const resumed = await openSignal(again.url, session.session_code, { agentSecret: secret });
  t.teardown(() => resumed.ws.close());
  t.same(
    await nextOf(resumed, 'agent_welcome'),
    { type: 'agent_welcome', session_id: session.id, resumed: true, viewers: [] },
    'the agent secret survived the restart: a resume, and the restarted broker holds no viewer',
  );
  const viewerWs2 = await openSignal(again.url, session.session_code, token);
  t.teardown(() => viewerWs2.ws.close());
  const { viewer_id: viewerId } = await nextOf(viewerWs2, 'joined');
  const ticket = await nextOf(viewerWs2, 'udp_ticket');
  await pinViewer(viewer, session.udp_port, ticket.ticket);
  await agent.send(provenHandshake(session.session_code, secret), session.udp_port);
  const sealed = Buffer.concat([Buffer.from([5, viewerId & 0xff, viewerId >> 8, 0]), randomBytes(8 + 40)]);
  await agent.send(sealed, session.udp_port);
  t.ok((await viewer.received.next((d) => d.data[0] === 5)).data.equals(sealed), 'sealed datagrams flow again');
  t.equal((await call(again.api, 'GET', `/sessions/${session.session_code}/info`)).body.status, 'active');
});

// The broker as a relay, against a real `rac serve` process. The test plays the reference Windows
// client byte for byte (raw JSON handshake, little-endian type-1 chunks of 60000 bytes, .NET ticks
// as frame ids) and a viewer (WebSocket with a token, udp_ticket, viewer_hello).
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { Session } from '../src/protocol/broker-api.js';
import { call, login, type SessionStats, startBrokerProcess } from './helpers/broker-process.js';
import { controlOf, openSignal, openUdp, sleep, udpBindError } from './helpers/session-peers.js';

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

const broker = await startBrokerProcess({ args: ['--agent-timeout', '1500ms'] });
t.teardown(() => broker.stop());
const admin = await login(broker.api);
await call(broker.api, 'POST', '/users', {
  token: admin,
  body: { email: 'tech@example.com', password: 'tech-password', full_name: 'Tina Tech' },
});
await call(broker.api, 'POST', '/users', { token: admin, body: { email: 'other@example.com', password: 'other-password' } });
const tech = await login(broker.api, 'tech@example.com', 'tech-password');
const other = await login(broker.api, 'other@example.com', 'other-password');

async function joinedSession() {
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: tech, body: { customer_name: 'Carl' } })).body;
  const agentWs = await openSignal(broker.url, session.session_code);
  const viewerWs = await openSignal(broker.url, session.session_code, tech);
  const ticket = await viewerWs.messages.next((m) => m.type === 'udp_ticket', 5000, 'udp_ticket');
  const agent = await openUdp();
  const viewer = await openUdp();
  await viewer.send(
    Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ type: 'viewer_hello', ticket: ticket.ticket }))]),
    session.udp_port,
  );
  await viewer.received.next((d) => controlOf(d.data)?.type === 'viewer_ack', 5000, 'viewer_ack');
  await agent.send(handshake(session.session_code), session.udp_port);
  await viewer.received.next((d) => controlOf(d.data)?.type === 'screen', 5000, 'screen from the handshake');
  return { session, agentWs, viewerWs, ticket, agent, viewer };
}

t.test('signalling: statuses, the viewer message, ticket and ping', async (t) => {
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: tech, body: {} })).body;
  const viewerWs = await openSignal(broker.url, session.session_code, tech);
  t.teardown(() => viewerWs.ws.close());
  const ticket = await viewerWs.messages.next((m) => m.type === 'udp_ticket');
  t.equal(ticket.udp_port, session.udp_port);
  t.match(ticket.ticket, /^[\w-]{20,}$/);
  t.same(await viewerWs.messages.next((m) => m.type === 'status'), { type: 'status', status: 'pending' });

  const agentWs = await openSignal(broker.url, session.session_code);
  t.same(
    await agentWs.messages.next((m) => m.type === 'viewer'),
    { type: 'viewer', full_name: 'Tina Tech', email: 'tech@example.com' },
    'the customer learns who is asking',
  );
  t.same(await viewerWs.messages.next((m) => m.type === 'status'), { type: 'status', status: 'active' });
  t.equal((await call(broker.api, 'GET', `/sessions/${session.session_code}/info`)).body.status, 'active');

  agentWs.send({ type: 'ping' });
  t.same(await agentWs.messages.next((m) => m.type === 'pong'), { type: 'pong' });
  agentWs.ws.send('not json at all');
  agentWs.ws.send(JSON.stringify({ type: 'something_new' }));
  agentWs.send({ type: 'ping' });
  t.same(await agentWs.messages.next((m) => m.type === 'pong'), { type: 'pong' }, 'garbage is ignored, the connection lives');

  agentWs.send({ type: 'disconnect' });
  await agentWs.closed;
  t.same(await viewerWs.messages.next((m) => m.type === 'status'), { type: 'status', status: 'disconnected' });
  const again = await openSignal(broker.url, session.session_code);
  t.same(await viewerWs.messages.next((m) => m.type === 'status'), { type: 'status', status: 'active' }, 'the agent comes back');
  again.ws.terminate();
  t.same(
    await viewerWs.messages.next((m) => m.type === 'status'),
    { type: 'status', status: 'disconnected' },
    'a dropped connection counts too',
  );
});

t.test('signalling: who may connect', async (t) => {
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: tech, body: {} })).body;
  const unknown = await openSignal(broker.url, session.session_code === '999999999' ? '999999998' : '999999999');
  t.same(await unknown.closed, { code: 1008, reason: 'Session not found' });
  const malformed = await openSignal(broker.url, 'abc');
  t.same(await malformed.closed, { code: 1008, reason: 'Session not found' });
  await t.rejects(openSignal(broker.url, session.session_code, other), { message: 'HTTP 403', status: 403 }, 'another tech cannot watch');
  await t.rejects(openSignal(broker.url, session.session_code, 'bad.token.here'), { message: 'HTTP 401', status: 401 });
  const byAdmin = await openSignal(broker.url, session.session_code, admin);
  t.match(await byAdmin.messages.next((m) => m.type === 'udp_ticket'), { udp_port: session.udp_port }, 'an admin may');
  byAdmin.ws.close();
  const viaApi = await openSignal(broker.url.replace(/\/?$/, '') + '/api', session.session_code);
  t.equal(viaApi.ws.readyState, viaApi.ws.OPEN, '/api/ws/session/{code} works too');
  viaApi.ws.close();
  await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: tech });
  const closed = await openSignal(broker.url, session.session_code);
  t.same(await closed.closed, { code: 1008, reason: 'Session closed' });
  const viewerOfClosed = await openSignal(broker.url, session.session_code, tech);
  t.same(await viewerOfClosed.closed, { code: 1008, reason: 'Session closed' }, 'for the viewer too');
  t.equal((await call(broker.api, 'GET', `/sessions/${session.session_code}/info`)).status, 410, 'a closed session is never reopened');
});

t.test('a 150 KB frame from the reference client arrives byte-identical; input goes back', async (t) => {
  const { session, agentWs, viewerWs, agent, viewer } = await joinedSession();
  t.teardown(() => {
    agent.close();
    viewer.close();
    agentWs.ws.close();
    viewerWs.ws.close();
  });
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
  const control = Buffer.concat([Buffer.from([4]), Buffer.from('{"type":"request_keyframe"}')]);
  for (const datagram of [mouse, key, control]) await viewer.send(datagram, session.udp_port);
  for (const datagram of [mouse, key, control]) {
    const arrived = await agent.received.next((d) => d.data.equals(datagram), 5000, `packet type ${datagram[0]} at the agent`);
    t.equal(arrived.from.port, session.udp_port, `type ${datagram[0]} arrives byte-identical from the broker`);
  }
  const agentControl = Buffer.concat([Buffer.from([4]), Buffer.from('{"type":"screen","width":1280,"height":720}')]);
  await agent.send(agentControl, session.udp_port);
  t.ok(await viewer.received.next((d) => d.data.equals(agentControl)), "the agent's control messages reach the viewer");

  const stats = await call(broker.api, 'GET', `/sessions/${session.id}/stats`, { token: tech });
  t.match(stats.body.relay, { agent_pinned: true, viewers_pinned: 1, frames_chunks_forwarded: 3, input_forwarded: 2 });
});

t.test('nothing from a third socket reaches either side', async (t) => {
  const { session, agentWs, viewerWs, agent, viewer } = await joinedSession();
  const intruder = await openUdp();
  t.teardown(() => [agent, viewer, intruder].forEach((p) => p.close()));
  t.teardown(() => [agentWs, viewerWs].forEach((p) => p.ws.close()));

  const keepStreaming = setInterval(
    () => void agent.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"type":"keepalive"}')]), session.udp_port),
    200,
  );
  t.teardown(() => clearInterval(keepStreaming));
  const spoofed = [
    Buffer.from([2, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1]),
    Buffer.from([3, 0x5b, 0, 1]), // the Windows key
    Buffer.concat([Buffer.from([4]), Buffer.from('{"type":"request_keyframe"}')]),
    Buffer.concat([Buffer.from([4]), Buffer.from('{"type":"viewer_hello","ticket":"guessed"}')]),
    referenceChunk(1n, 0, 1, 4, Buffer.from('fake')),
    Buffer.from(handshake(session.session_code)), // the code alone cannot take over a live agent
  ];
  for (const datagram of spoofed) await intruder.send(datagram, session.udp_port);
  await sleep(300);
  // Then a legit input packet, to prove the path works and nothing came before it.
  const legit = Buffer.from([3, 0x42, 0, 1]);
  await viewer.send(legit, session.udp_port);
  await agent.received.next((d) => d.data.equals(legit));
  const agentGot = agent.received.items.filter((d) => d.data[0] !== 4 || controlOf(d.data)?.type !== 'keepalive');
  t.same(
    agentGot.map((d) => d.data.toString('hex')),
    [],
    'the agent received nothing spoofed',
  );
  t.notOk(
    viewer.received.items.some((d) => spoofed.some((s) => s.equals(d.data))),
    'nor did the viewer',
  );
  t.same(intruder.received.items, [], 'and the intruder got no answer');
  const stats = (await call<SessionStats>(broker.api, 'GET', `/sessions/${session.id}/stats`, { token: tech })).body.relay!;
  t.ok(stats.dropped_unknown_source >= 5, 'dropped and counted');
  t.equal(stats.agent_repins_refused, 1, 'the handshake from elsewhere was refused');
});

t.test('UDP silence marks the session disconnected; the stream coming back makes it active', async (t) => {
  const { session, agentWs, viewerWs, agent, viewer } = await joinedSession();
  t.teardown(() => [agent, viewer].forEach((p) => p.close()));
  t.teardown(() => [agentWs, viewerWs].forEach((p) => p.ws.close()));
  await viewerWs.messages.next((m) => m.type === 'status' && m.status === 'active');
  t.same(
    await viewerWs.messages.next((m) => m.type === 'status', 6000),
    { type: 'status', status: 'disconnected' },
    'silent past --agent-timeout',
  );
  await agent.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"type":"keepalive"}')]), session.udp_port);
  t.same(await viewerWs.messages.next((m) => m.type === 'status', 6000), { type: 'status', status: 'active' });
});

t.test('DELETE sends disconnect to both sides, over WebSocket and UDP, and frees the port', async (t) => {
  const { session, agentWs, viewerWs, agent, viewer } = await joinedSession();
  t.teardown(() => [agent, viewer].forEach((p) => p.close()));
  t.equal((await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: tech })).status, 200);
  t.same(await agentWs.messages.next((m) => m.type === 'disconnect'), { type: 'disconnect' });
  t.same(await viewerWs.messages.next((m) => m.type === 'disconnect'), { type: 'disconnect' });
  t.ok(await viewerWs.messages.next((m) => m.type === 'status' && m.status === 'closed'), 'the viewer is told the status');
  t.same(controlOf((await agent.received.next((d) => controlOf(d.data)?.type === 'disconnect')).data), { type: 'disconnect' });
  t.same(controlOf((await viewer.received.next((d) => controlOf(d.data)?.type === 'disconnect')).data), { type: 'disconnect' });
  t.equal((await agentWs.closed).code, 1000);
  t.equal((await viewerWs.closed).code, 1000);
  t.equal(await udpBindError(session.udp_port), null, 'the port is free');
});

t.test('after a broker restart the session gets its port back and both sides re-pin', async (t) => {
  const own = await startBrokerProcess();
  const token = await login(own.api);
  const session = (await call<Session>(own.api, 'POST', '/sessions', { token, body: {} })).body;
  await openSignal(own.url, session.session_code);
  const viewerWs = await openSignal(own.url, session.session_code, token);
  const firstTicket = await viewerWs.messages.next((m) => m.type === 'udp_ticket');
  const agent = await openUdp();
  const viewer = await openUdp();
  t.teardown(() => [agent, viewer].forEach((p) => p.close()));
  await viewer.send(
    Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ type: 'viewer_hello', ticket: firstTicket.ticket }))]),
    session.udp_port,
  );
  await viewer.received.next((d) => controlOf(d.data)?.type === 'viewer_ack');
  await agent.send(handshake(session.session_code), session.udp_port);

  await own.stop();
  t.same(
    controlOf((await agent.received.next((d) => controlOf(d.data)?.type === 'disconnect')).data),
    { type: 'disconnect', reason: 'shutdown' },
    'shutdown tells the agent why',
  );
  t.equal((await viewerWs.closed).code, 1012, 'the viewer WebSocket closes with "service restart"');

  const again = await startBrokerProcess({ dataDir: own.dataDir, udpPorts: own.udpPorts });
  t.teardown(() => again.stop());
  const info = await call(again.api, 'GET', `/sessions/${session.session_code}/info`);
  t.same(
    info.body,
    { session_code: session.session_code, udp_port: session.udp_port, status: 'disconnected' },
    'same port; nobody connected yet',
  );
  const agentWs = await openSignal(again.url, session.session_code);
  t.teardown(() => agentWs.ws.close());
  const viewerWs2 = await openSignal(again.url, session.session_code, token);
  t.teardown(() => viewerWs2.ws.close());
  const ticket = await viewerWs2.messages.next((m) => m.type === 'udp_ticket');
  await viewer.send(
    Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ type: 'viewer_hello', ticket: ticket.ticket }))]),
    session.udp_port,
  );
  await viewer.received.next((d) => controlOf(d.data)?.type === 'viewer_ack');
  await agent.send(handshake(session.session_code), session.udp_port);
  const frame = referenceFrame(ticksNow(), randomBytes(1000));
  await agent.send(frame[0]!, session.udp_port);
  t.ok((await viewer.received.next((d) => d.data[0] === 1)).data.equals(frame[0]!), 'frames flow again');
  t.equal((await call(again.api, 'GET', `/sessions/${session.session_code}/info`)).body.status, 'active');
});

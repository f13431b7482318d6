// The viewer's transport against a peer playing the broker and the customer's agent over real
// sockets, the agent half with the agent's real key-exchange code (test/helpers/relay-peer.ts).
import t, { type Test } from 'tap';
import {
  type LinkState,
  SessionConnection,
  type SessionConnectionOptions,
  type StreamSecurity,
} from '../../src/viewer-tty/session-connection.js';
import { CloseCode, type Packet, encodeFrameChunk, isFinalCloseCode } from '../../src/protocol/index.js';
import { PEER_TOKEN, type RelayPeer, type RelayPeerOptions, startRelayPeer } from '../helpers/relay-peer.js';

async function connect(t: Test, peerOptions: RelayPeerOptions = {}, extra: Partial<SessionConnectionOptions> = {}) {
  const peer = await startRelayPeer(peerOptions);
  t.teardown(() => peer.close());
  const frames: Buffer[] = [];
  const states: Array<[LinkState, string | undefined]> = [];
  const statuses: string[] = [];
  const controls: unknown[] = [];
  const security: StreamSecurity[] = [];
  const conn = new SessionConnection({
    webSocketUrl: `${peer.url.replace('http', 'ws')}/ws/session/${peer.code}`,
    token: PEER_TOKEN,
    keepaliveMs: 100,
    helloRetryMs: 200,
    reconnectBaseMs: 20,
    ...extra,
    events: {
      frame: (jpeg) => frames.push(jpeg),
      state: (s, d) => states.push([s, d]),
      status: (s) => statuses.push(s),
      control: (m) => controls.push(m),
      security: (s) => security.push(s),
    },
  });
  t.teardown(() => conn.close());
  conn.start();
  return { peer, conn, frames, states, statuses, controls, security };
}

/** Pinned on UDP and, for our agent, keys agreed on both sides. */
async function ready(peer: RelayPeer, conn: SessionConnection, exchanges = 1) {
  await peer.waitFor('the UDP address pinned', () => conn.state === 'connected');
  await peer.waitFor(`key exchange ${exchanges}`, () => peer.keyCommits.length === exchanges && peer.sas() !== undefined);
}

const isInput = (p: Packet) => p.type === 'mouse' || p.type === 'keyboard';
const keepalives = (peer: RelayPeer) => peer.received.filter((p) => p.type === 'control' && p.message.type === 'keepalive').length;
/** Consecutive repeats collapsed: the order of states, not how often a hint was repeated. */
const stateNames = (states: Array<[LinkState, string | undefined]>) =>
  states.map(([s]) => s).filter((s, i, all) => i === 0 || all[i - 1] !== s);
/** A copy with one byte changed. */
const flipped = (datagram: Buffer, at: number) => {
  const copy = Buffer.from(datagram);
  copy[at]! ^= 0x01;
  return copy;
};
/** A single-chunk frame, so one datagram is one frame. */
const oneChunk = (data: Buffer, frameId = 1n) => encodeFrameChunk({ frameId, chunkIndex: 0, totalChunks: 1, totalSize: data.length, data });

t.test('joins with the ticket, reassembles frames, sends input and keepalives', async (t) => {
  const { peer, conn, frames, states, statuses, controls } = await connect(t);
  await ready(peer, conn);
  t.same(stateNames(states), ['joining', 'connected']);
  t.same(statuses, ['active']);
  t.ok(peer.pinnedTicket && peer.tickets.includes(peer.pinnedTicket), 'pinned with a ticket from the WebSocket');
  await peer.waitFor('a keyframe request', () => peer.received.some((p) => p.type === 'control' && p.message.type === 'request_keyframe'));

  const jpeg = Buffer.alloc(5000).map((_, i) => i % 251);
  peer.sendFrame(jpeg);
  await peer.waitFor('the frame', () => frames.length === 1);
  t.same(frames[0], jpeg, 'the chunks come back as the whole frame');

  peer.sendAgentControl({ type: 'screen', width: 1920, height: 1080 });
  await peer.waitFor('the screen message', () => controls.length === 1);
  t.same(controls[0], { type: 'screen', width: 1920, height: 1080 });

  conn.sendMouse(100, 200, 1, 1);
  conn.sendKey(0x41, true);
  conn.sendKey(0x41, false);
  await peer.waitFor('input packets', () => peer.received.filter((p) => p.type === 'keyboard').length === 2);
  t.same(
    peer.received.find((p) => p.type === 'mouse'),
    { type: 'mouse', x: 100, y: 200, button: 1, state: 1, sealed: true },
  );
  t.same(
    peer.received.filter((p) => p.type === 'keyboard'),
    [
      { type: 'keyboard', vk: 0x41, state: 1, sealed: true },
      { type: 'keyboard', vk: 0x41, state: 0, sealed: true },
    ],
  );
  await peer.waitFor('keepalives', () => keepalives(peer) >= 2);

  const invalid = conn.invalidDatagrams;
  peer.sendRaw(Buffer.from([9, 9, 9]));
  peer.sendRaw(Buffer.from([1, 2]));
  peer.sendRaw(Buffer.from('\x04not json'));
  await peer.waitFor('invalid datagrams counted', () => conn.invalidDatagrams === invalid + 3);
  peer.sendFrame(jpeg.subarray(0, 100));
  await peer.waitFor('a frame after garbage', () => frames.length === 2);

  peer.setStatus('disconnected');
  await peer.waitFor('status update', () => statuses.includes('disconnected'));
});

t.test('sealed: the viewer shows the agent half’s security code; frames and input travel sealed', async (t) => {
  const { peer, conn, frames, security } = await connect(t);
  await ready(peer, conn);
  await peer.waitFor('the sealed state', () => security.some((s) => s.state === 'sealed'));
  t.same(security[0], { state: 'exchanging', keyChanged: false }, 'keys are agreed first');
  const sealed = security.find((s) => s.state === 'sealed')!;
  t.match(sealed.sas, /^\d{3} \d{3}$/);
  t.equal(sealed.sas, peer.sas(), 'the same security code on both sides');

  // In a session that does not allow the reference client, a clear frame is never shown.
  const invalid = conn.invalidDatagrams;
  peer.sendClearFrame(Buffer.from('clear picture'));
  await peer.waitFor('the clear frame refused', () => conn.invalidDatagrams === invalid + 1);
  peer.sendFrame(Buffer.from('sealed picture'));
  await peer.waitFor('the sealed frame', () => frames.length === 1);
  t.equal(frames[0]!.toString(), 'sealed picture', 'only the sealed frame is shown');

  conn.sendMouse(-5, 1080, 2, 0);
  conn.sendKey(0x0d, true);
  await peer.waitFor('input', () => peer.received.filter(isInput).length >= 2);
  t.match(peer.received.filter(isInput), [
    { type: 'mouse', x: -5, y: 1080, button: 2, state: 0, sealed: true },
    { type: 'keyboard', vk: 0x0d, state: 1, sealed: true },
  ]);
  t.equal(peer.refused, 0, 'every sealed datagram from the viewer opened');
  t.notOk(
    security.some((s) => s.state === 'not_encrypted'),
    'never reported as not encrypted',
  );
});

t.test('no downgrade: once keys are agreed, no clear frame is shown and no clear input sent, even where clear is allowed', async (t) => {
  const { peer, conn, frames, controls, security } = await connect(t, { agent: 'sealed', allowUnencrypted: true });
  await ready(peer, conn);
  await peer.waitFor('the sealed state', () => security.some((s) => s.state === 'sealed'));

  const invalid = conn.invalidDatagrams;
  peer.sendClearFrame(Buffer.from('downgraded'));
  peer.sendControl({ type: 'screen', width: 640, height: 480 });
  await peer.waitFor('the clear frame and screen refused', () => conn.invalidDatagrams === invalid + 2);
  peer.sendFrame(Buffer.from('sealed'));
  await peer.waitFor('the sealed frame', () => frames.length === 1);
  t.equal(frames[0]!.toString(), 'sealed');
  t.same(controls, [], 'a clear screen message from the agent is ignored');

  conn.sendMouse(1, 2, 1, 1);
  conn.sendKey(0x41, true);
  await peer.waitFor('input', () => peer.received.filter(isInput).length >= 2);
  t.ok(
    peer.received.filter(isInput).every((p) => p.sealed),
    'input leaves sealed',
  );
  t.notOk(
    peer.received.some((p) => !p.sealed && (isInput(p) || (p.type === 'control' && p.message.type === 'request_keyframe'))),
    'nothing for the agent ever left in clear',
  );
  t.notOk(
    security.some((s) => s.state === 'not_encrypted'),
    'never reported as not encrypted',
  );
});

t.test('the reference client: clear frames and input only where the session allows them', async (t) => {
  const allowed = await connect(t, { agent: 'clear', allowUnencrypted: true });
  await allowed.peer.waitFor('connected', () => allowed.conn.state === 'connected');
  await allowed.peer.waitFor('the key commitment', () => allowed.peer.keyCommits.length === 1);
  allowed.peer.sendFrame(Buffer.from('clear picture'));
  await allowed.peer.waitFor('the clear frame', () => allowed.frames.length === 1);
  t.equal(allowed.frames[0]!.toString(), 'clear picture');
  t.same(allowed.security.at(-1), { state: 'not_encrypted' }, 'the stream is reported as not encrypted');
  allowed.peer.sendAgentControl({ type: 'screen', width: 1024, height: 768 });
  await allowed.peer.waitFor('the screen message', () => allowed.controls.length === 1);
  allowed.conn.sendMouse(10, 20, 0, 0);
  allowed.conn.sendKey(0x42, false);
  await allowed.peer.waitFor('clear input', () => allowed.peer.received.filter(isInput).length >= 2);
  t.match(allowed.peer.received.filter(isInput), [
    { type: 'mouse', x: 10, y: 20, button: 0, state: 0, sealed: false },
    { type: 'keyboard', vk: 0x42, state: 0, sealed: false },
  ]);

  const refused = await connect(t, { agent: 'clear', allowUnencrypted: false });
  await refused.peer.waitFor('connected', () => refused.conn.state === 'connected');
  refused.peer.sendFrame(Buffer.from('clear picture'));
  refused.peer.sendAgentControl({ type: 'screen', width: 1024, height: 768 });
  await refused.peer.waitFor('the clear frame and screen refused', () => refused.conn.invalidDatagrams === 2);
  refused.conn.sendMouse(10, 20, 1, 1);
  refused.conn.sendKey(0x42, true);
  // Keepalives leave after the input would have: two more of them and still no input means none left.
  const before = keepalives(refused.peer);
  await refused.peer.waitFor('later keepalives', () => keepalives(refused.peer) >= before + 2);
  t.same(refused.frames, [], 'no clear frame shown');
  t.same(refused.controls, [], 'no clear screen message taken');
  t.notOk(refused.peer.received.some(isInput), 'no input sent, clear or sealed');
  t.equal(refused.peer.refused, 0, 'nothing sealed was sent either');
  t.notOk(
    refused.security.some((s) => s.state !== 'exchanging'),
    'neither sealed nor not_encrypted',
  );
});

t.test('a lost viewer_ack: the viewer asks for a fresh ticket and joins with it', async (t) => {
  const { peer, conn } = await connect(t, { loseAcks: 1 }, { helloRetryMs: 50 });
  await ready(peer, conn);
  t.ok(peer.ticketRequests >= 1, `asked for a fresh ticket (${peer.ticketRequests} times)`);
  t.ok(peer.pinnedTicket !== undefined && peer.pinnedTicket !== 'ticket-1', `pinned with ${peer.pinnedTicket}, not the spent first ticket`);
  t.equal(peer.connections, 1, 'over the same WebSocket');
});

t.test('a lost viewer_ready: the viewer repeats its confirm', async (t) => {
  const { peer, conn, frames } = await connect(t, { loseFirstReady: true }, { helloRetryMs: 50 });
  await ready(peer, conn);
  const repeated = peer.confirms.filter((cookie, i) => peer.confirms.indexOf(cookie) !== i);
  t.ok(repeated.length >= 1, 'the same cookie was confirmed again');
  peer.sendFrame(Buffer.from('pinned'));
  await peer.waitFor('a frame', () => frames.length === 1);
});

t.test('a tampered or replayed sealed frame is not shown', async (t) => {
  const { peer, conn, frames } = await connect(t);
  await ready(peer, conn);
  const genuine = peer.seal(oneChunk(Buffer.from('genuine'), 10n));

  const tampered = [
    flipped(genuine, 20), // a ciphertext byte
    flipped(genuine, genuine.length - 1), // the tag
    flipped(genuine, 4), // the counter in the header (associated data)
  ];
  const invalid = conn.invalidDatagrams;
  for (const datagram of tampered) peer.sendRaw(datagram);
  await peer.waitFor('the tampered datagrams refused', () => conn.invalidDatagrams === invalid + 3);
  t.same(frames, [], 'nothing tampered is shown');

  peer.sendRaw(genuine);
  await peer.waitFor('the genuine frame', () => frames.length === 1);
  t.equal(frames[0]!.toString(), 'genuine', 'a forgery did not use up the genuine counter');
  peer.sendRaw(genuine);
  await peer.waitFor('the replay refused', () => conn.invalidDatagrams === invalid + 4);
  peer.sendFrame(Buffer.from('next'));
  await peer.waitFor('the next frame', () => frames.length === 2);
  t.same(
    frames.map((f) => f.toString()),
    ['genuine', 'next'],
    'the replay was not shown',
  );
});

t.test('a new customer agent: a new key exchange, a new code, the old keys refused', async (t) => {
  const { peer, conn, frames, security } = await connect(t);
  await ready(peer, conn);
  await peer.waitFor('the sealed state', () => security.some((s) => s.state === 'sealed'));
  const oldKeysFrame = peer.seal(oneChunk(Buffer.from('old agent'), 20n));
  peer.sendFrame(Buffer.from('first agent'));
  await peer.waitFor('a frame from the first agent', () => frames.length === 1);
  const seen = security.length;

  peer.announceAgent(false);
  await ready(peer, conn, 2);
  await peer.waitFor('sealed again', () => security.slice(seen).some((s) => s.state === 'sealed'));
  t.same(security.slice(seen)[0], { state: 'exchanging', keyChanged: true }, 'the viewer is told the key changed');
  t.not(peer.keyCommits[1], peer.keyCommits[0], 'a fresh viewer key');
  t.equal(security.at(-1)!.sas, peer.sas(), 'the new code matches the new agent');

  const invalid = conn.invalidDatagrams;
  peer.sendRaw(oldKeysFrame);
  await peer.waitFor('the old agent’s frame refused', () => conn.invalidDatagrams === invalid + 1);
  peer.sendFrame(Buffer.from('new agent'));
  await peer.waitFor('a frame under the new keys', () => frames.length === 2);
  t.same(
    frames.map((f) => f.toString()),
    ['first agent', 'new agent'],
  );
});

t.test('reconnects with a new ticket and new keys when the WebSocket drops', async (t) => {
  const { peer, conn, frames, states } = await connect(t);
  await ready(peer, conn);
  const issuedBefore = peer.tickets.length;
  peer.dropWebSocket();
  await peer.waitFor('reconnecting', () => states.some(([s]) => s === 'reconnecting'));
  await peer.waitFor('connected again', () => peer.connections === 2 && conn.state === 'connected');
  await ready(peer, conn, 2);
  t.ok(peer.tickets.indexOf(peer.pinnedTicket!) >= issuedBefore, `pinned again with a new ticket (${peer.pinnedTicket})`);
  t.not(peer.keyCommits[1], peer.keyCommits[0], 'and a fresh key exchange');
  peer.sendFrame(Buffer.from('after reconnect'));
  await peer.waitFor('a frame after reconnecting', () => frames.length === 1);
  t.equal(frames[0]!.toString(), 'after reconnect');
});

t.test('ends for good on final close codes; comes back after a restart', async (t) => {
  const refused = await connect(t, {}, { token: 'wrong' });
  await refused.peer.waitFor('ended', () => refused.conn.state === 'ended');
  t.match(refused.states.at(-1)![1], 'HTTP 403');
  t.equal(refused.peer.connections, 0);

  const finals: [number, string][] = [
    [CloseCode.SESSION_GONE, 'Session closed'],
    [CloseCode.NOT_AUTHENTICATED, 'Not authenticated'],
    [CloseCode.FORBIDDEN, 'Forbidden'],
    [CloseCode.TOO_MANY_VIEWERS, 'Too many viewers'],
  ];
  for (const [code, reason] of finals) {
    t.ok(isFinalCloseCode(code), `${code} is final`);
    const closed = await connect(t);
    await closed.peer.waitFor('connected', () => closed.conn.state === 'connected');
    closed.peer.dropWebSocket(code, reason);
    await closed.peer.waitFor(`ended by ${code}`, () => closed.conn.state === 'ended');
    t.equal(closed.states.at(-1)![1], reason, `${code}: ended with the broker's reason`);
    t.equal(closed.peer.connections, 1, `${code}: no reconnect`);
  }

  // A broker restart: UDP disconnect with reason "shutdown", then the WebSocket closes with 1012.
  t.notOk(isFinalCloseCode(CloseCode.RESTARTING));
  const restart = await connect(t);
  await restart.peer.waitFor('connected', () => restart.conn.state === 'connected');
  restart.peer.sendControl({ type: 'disconnect', reason: 'shutdown' });
  restart.peer.dropWebSocket(CloseCode.RESTARTING, 'Broker restarting');
  await restart.peer.waitFor('connected again', () => restart.peer.connections === 2 && restart.conn.state === 'connected');
  t.notOk(
    restart.states.some(([s]) => s === 'ended'),
    'a restart does not end the session',
  );

  const bye = await connect(t);
  await bye.peer.waitFor('connected', () => bye.conn.state === 'connected');
  bye.peer.sendControl({ type: 'disconnect' });
  await bye.peer.waitFor('ended', () => bye.conn.state === 'ended');
  t.equal(bye.states.at(-1)![1], 'the session was closed');
});

t.test('stats: fps, kbit/s and latency from the frame ids', async (t) => {
  const { peer, conn } = await connect(t);
  await ready(peer, conn);
  for (let i = 0; i < 5; i++) peer.sendFrame(Buffer.alloc(2000, i));
  await peer.waitFor('frames', () => conn.stats().framesShown === 5);
  await peer.waitFor('a stats window', () => conn.stats().fps > 0, 3000);
  const stats = conn.stats();
  t.ok(stats.kbps > 0);
  t.equal(stats.frameLoss, 0);
  t.ok(stats.latencyMs !== undefined && stats.latencyMs >= 0 && stats.latencyMs < 5000, `latency ${stats.latencyMs}`);
});

t.test('says so when the UDP port does not answer', async (t) => {
  const peer = await startRelayPeer();
  t.teardown(() => peer.close());
  const states: Array<[LinkState, string | undefined]> = [];
  // The WebSocket hands out a ticket for a UDP port where nobody listens.
  const { createSocket } = await import('node:dgram');
  const silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  const deadPort = silent.address().port;
  silent.close();
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => wss.close());
  wss.on('connection', (ws) => ws.send(JSON.stringify({ type: 'udp_ticket', udp_port: deadPort, ticket: 't' })));
  await new Promise((r) => wss.once('listening', r));
  const conn = new SessionConnection({
    webSocketUrl: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/ws/session/1`,
    token: 'x',
    helloRetryMs: 20,
    events: { state: (s, d) => states.push([s, d]) },
  });
  t.teardown(() => conn.close());
  conn.start();
  await peer.waitFor('the hint', () => states.some(([, d]) => d?.includes('is UDP blocked')));
  t.match(states.at(-1), ['joining', `no answer on UDP 127.0.0.1:${deadPort} yet; is UDP blocked?`]);
  t.equal(conn.state, 'joining');
});

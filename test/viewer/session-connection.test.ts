// The viewer's transport against a peer speaking DESIGN.md's broker side over real sockets.
import t, { type Test } from 'tap';
import { SessionConnection, type LinkState } from '../../src/viewer-tty/session-connection.js';
import { PEER_TOKEN, startRelayPeer } from '../helpers/relay-peer.js';

async function connect(t: Test, peerOptions = {}, extra: { token?: string } = {}) {
  const peer = await startRelayPeer(peerOptions);
  t.teardown(() => peer.close());
  const frames: Buffer[] = [];
  const states: Array<[LinkState, string | undefined]> = [];
  const statuses: string[] = [];
  const controls: unknown[] = [];
  const conn = new SessionConnection({
    webSocketUrl: `${peer.url.replace('http', 'ws')}/ws/session/${peer.code}`,
    token: extra.token ?? PEER_TOKEN,
    keepaliveMs: 100,
    helloRetryMs: 50,
    reconnectBaseMs: 20,
    events: {
      frame: (jpeg) => frames.push(jpeg),
      state: (s, d) => states.push([s, d]),
      status: (s) => statuses.push(s),
      control: (m) => controls.push(m),
    },
  });
  t.teardown(() => conn.close());
  conn.start();
  return { peer, conn, frames, states, statuses, controls };
}

t.test('joins with the ticket, reassembles frames, sends input and keepalives', async (t) => {
  const { peer, conn, frames, states, statuses, controls } = await connect(t);
  await peer.waitFor('viewer_ack', () => conn.state === 'connected');
  t.same(
    states.map((s) => s[0]),
    ['joining', 'connected'],
  );
  t.same(statuses, ['active']);
  await peer.waitFor('a keyframe request', () => peer.received.some((p) => p.type === 'control' && p.message.type === 'request_keyframe'));

  const jpeg = Buffer.alloc(5000).map((_, i) => i % 251);
  peer.sendFrame(jpeg);
  await peer.waitFor('the frame', () => frames.length === 1);
  t.same(frames[0], jpeg, 'the chunks come back as the whole frame');

  peer.sendControl({ type: 'screen', width: 1920, height: 1080 });
  await peer.waitFor('the screen message', () => controls.length === 1);
  t.same(controls[0], { type: 'screen', width: 1920, height: 1080 });

  conn.sendMouse(100, 200, 1, 1);
  conn.sendKey(0x41, true);
  conn.sendKey(0x41, false);
  await peer.waitFor('input packets', () => peer.received.filter((p) => p.type === 'keyboard').length === 2);
  t.same(
    peer.received.find((p) => p.type === 'mouse'),
    { type: 'mouse', x: 100, y: 200, button: 1, state: 1 },
  );
  t.same(
    peer.received.filter((p) => p.type === 'keyboard'),
    [
      { type: 'keyboard', vk: 0x41, state: 1 },
      { type: 'keyboard', vk: 0x41, state: 0 },
    ],
  );
  await peer.waitFor('keepalives', () => peer.received.filter((p) => p.type === 'control' && p.message.type === 'keepalive').length >= 2);

  peer.sendRaw(Buffer.from([9, 9, 9]));
  peer.sendRaw(Buffer.from([1, 2]));
  peer.sendRaw(Buffer.from('\x04not json'));
  await peer.waitFor('invalid datagrams counted', () => conn.invalidDatagrams === 3);
  peer.sendFrame(jpeg.subarray(0, 100));
  await peer.waitFor('a frame after garbage', () => frames.length === 2);

  peer.setStatus('disconnected');
  await peer.waitFor('status update', () => statuses.includes('disconnected'));
});

t.test('reconnects with a new ticket when the WebSocket drops', async (t) => {
  const { peer, conn, frames, states } = await connect(t);
  await peer.waitFor('connected', () => conn.state === 'connected');
  peer.dropWebSocket();
  await peer.waitFor('reconnecting', () => states.some(([s]) => s === 'reconnecting'));
  await peer.waitFor('connected again', () => peer.connections === 2 && conn.state === 'connected');
  t.same(peer.tickets, ['ticket-1', 'ticket-2']);
  peer.sendFrame(Buffer.from('after reconnect'));
  await peer.waitFor('a frame after reconnecting', () => frames.length === 1);
  t.equal(frames[0]!.toString(), 'after reconnect');
});

t.test('ends for good when the broker refuses or closes the session', async (t) => {
  const refused = await connect(t, {}, { token: 'wrong' });
  await refused.peer.waitFor('ended', () => refused.conn.state === 'ended');
  t.match(refused.states.at(-1)![1], 'HTTP 403');
  t.equal(refused.peer.connections, 0);

  const closed = await connect(t);
  await closed.peer.waitFor('connected', () => closed.conn.state === 'connected');
  closed.peer.dropWebSocket(1008, 'Session closed');
  await closed.peer.waitFor('ended', () => closed.conn.state === 'ended');
  t.equal(closed.states.at(-1)![1], 'Session closed');

  // A broker restart: UDP disconnect with reason "shutdown", then the WebSocket closes with 1012.
  const restart = await connect(t);
  await restart.peer.waitFor('connected', () => restart.conn.state === 'connected');
  restart.peer.sendRaw(Buffer.from('\x04{"type":"disconnect","reason":"shutdown"}'));
  restart.peer.dropWebSocket(1012, 'Broker restarting');
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
  await peer.waitFor('connected', () => conn.state === 'connected');
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

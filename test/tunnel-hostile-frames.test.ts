// A real `rac serve`'s tunnel played from a raw TCP socket, since the broker reads tunnel frames
// itself (src/shared/tunnel-socket.ts): each frame RFC 6455 forbids is answered with its close code,
// nothing of it reaches the other end, and the other end is closed. A frame announcing more than
// the limit is refused from its header, before its payload is sent. A ping is answered with its
// own payload, a request that is not a WebSocket handshake gets 400, and an IT side the broker
// holds back (the agent end stalled) is read again when the agent end goes, so the close
// handshake completes with a FIN instead of a reset 30 s later.
import './helpers/quiet-home.js';
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import type { Session } from '../src/protocol/broker-api.js';
import { CloseCode } from '../src/protocol/close-codes.js';
import { WsCloseCode, WsFrameReader, WsOpcode, parseWsClosePayload, wsFrameHeader } from '../src/protocol/websocket-frames.js';
import { type Tunnel, openTunnel } from '../src/client/tunnel.js';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { waitUntil } from './helpers/patience.js';
import { joinTunnelAgent } from './helpers/tunnel-agent.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const admin = await login(broker.api);
const { port } = new URL(broker.url);
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

interface RawEnd {
  socket: Socket;
  /** The frames the broker sent, as a server's (unmasked). */
  frames: ReturnType<WsFrameReader['push']>['frames'];
  /** The first frame with this opcode, once it came. */
  next(opcode: number): Promise<Buffer>;
}

/** A tunnel upgrade written by hand; resolves with the status line and, after a 101, the raw end. */
function rawUpgrade(t: Test, path: string, headers: Record<string, string>): Promise<{ status: number; end: RawEnd }> {
  const socket = connect(Number(port), '127.0.0.1');
  t.teardown(() => socket.destroy());
  const lines = Object.entries({ Host: `127.0.0.1:${port}`, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
  const reader = new WsFrameReader({ maxPayload: 1 << 20, masked: false });
  const end: RawEnd = {
    socket,
    frames: [],
    next: (opcode) =>
      new Promise((resolve) => {
        const look = () => {
          const frame = end.frames.find((f) => f.opcode === opcode);
          if (!frame) return void socket.once('frame', look);
          resolve(Buffer.concat(frame.payload));
        };
        look();
      }),
  };
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const at = head.indexOf('\r\n\r\n');
      if (at < 0) return;
      socket.off('data', onData);
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head.toString())?.[1]);
      const feed = (bytes: Buffer) => {
        end.frames.push(...reader.push(bytes).frames);
        socket.emit('frame');
      };
      socket.on('data', feed);
      if (head.length > at + 4) feed(head.subarray(at + 4));
      resolve({ status, end });
    };
    socket.on('data', onData);
  });
}

/** A frame as a client sends it, with a zero masking key. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  return Buffer.concat([wsFrameHeader(opcode, true, payload.length, true), payload]);
}

async function newSession(t: Test): Promise<Session> {
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: admin, body: {} })).body;
  t.teardown(() => call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: admin }));
  return session;
}

/** An IT side waiting on tunnel_ready and the agent's raw end of the same stream. */
async function rawAgentEnd(t: Test): Promise<{ it: Promise<Tunnel>; end: RawEnd }> {
  const session = await newSession(t);
  const agent = await joinTunnelAgent(broker.url, session.session_code, { answer: 'ignore' });
  t.teardown(() => agent.close());
  const it = openTunnel({ brokerUrl: broker.url, token: admin, code: session.session_code });
  it.then((opened) => t.teardown(() => opened.stream.destroy())).catch(() => undefined);
  const open = await agent.opens.next();
  const { status, end } = await rawUpgrade(t, `/ws/session/${session.session_code}/tunnel?stream=${open.stream_id}`, {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': KEY,
    'X-Rac-Agent-Secret': agent.secret,
  });
  t.equal(status, 101, 'the agent end is taken');
  return { it, end };
}

const closeOf = async (end: RawEnd) => parseWsClosePayload(await end.next(WsOpcode.CLOSE));

t.test('an unmasked frame from the agent end: 1002, nothing of it reaches the IT side, which is closed', async (t) => {
  const { it, end } = await rawAgentEnd(t);
  const opened = await it;
  const seen: Buffer[] = [];
  opened.stream.on('data', (chunk: Buffer) => seen.push(chunk));
  end.socket.write(Buffer.concat([wsFrameHeader(WsOpcode.BINARY, true, 5), Buffer.from('hello')]));
  t.match(await closeOf(end), { code: WsCloseCode.PROTOCOL_ERROR, reason: /not masked/ });
  t.match(await opened.closed, { code: CloseCode.NORMAL, reason: /other end of the tunnel closed/ });
  t.same(seen, [], 'not a byte of it passed');
});

t.test('a frame announcing more than 1 MiB: 1009 from its header alone', async (t) => {
  const { it, end } = await rawAgentEnd(t);
  const opened = await it;
  end.socket.write(wsFrameHeader(WsOpcode.BINARY, true, 2 << 20, true));
  t.match(await closeOf(end), { code: WsCloseCode.TOO_BIG, reason: /over the 1048576-byte limit/ });
  t.match(await opened.closed, { code: CloseCode.NORMAL });
});

t.test('a ping is answered with a pong carrying its payload; binary bytes pass to the IT side', async (t) => {
  const { it, end } = await rawAgentEnd(t);
  const opened = await it;
  end.socket.write(maskedFrame(WsOpcode.PING, Buffer.from('are you there')));
  t.equal(String(await end.next(WsOpcode.PONG)), 'are you there');
  const got = new Promise<Buffer>((resolve) => opened.stream.once('data', resolve));
  end.socket.write(maskedFrame(WsOpcode.BINARY, Buffer.from('SSH-2.0-raw')));
  t.equal(String(await got), 'SSH-2.0-raw');
});

t.test('an upgrade that is not a WebSocket handshake gets 400, and no tunnel', async (t) => {
  const session = await newSession(t);
  const agent = await joinTunnelAgent(broker.url, session.session_code, { answer: 'ignore' });
  t.teardown(() => agent.close());
  const { status } = await rawUpgrade(t, `/ws/session/${session.session_code}/tunnel`, {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    Authorization: `Bearer ${admin}`,
    'Sec-WebSocket-Version': '8',
    'Sec-WebSocket-Key': KEY,
  });
  t.equal(status, 400);
});

t.test('an IT side held back by a stalled agent end: when that end goes, the close handshake completes', async (t) => {
  const session = await newSession(t);
  const agent = await joinTunnelAgent(broker.url, session.session_code, { answer: 'dial' });
  t.teardown(() => agent.close());
  const { status, end: it } = await rawUpgrade(t, `/ws/session/${session.session_code}/tunnel`, {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': KEY,
    Authorization: `Bearer ${admin}`,
  });
  t.equal(status, 101);
  await it.next(WsOpcode.TEXT);
  const agentEnd = await agent.streams.next();
  agentEnd.ws.pause();
  const frame = maskedFrame(WsOpcode.BINARY, Buffer.alloc(256 * 1024, 1));
  await waitUntil(
    'the broker to stop reading the IT side',
    () => {
      if (it.socket.writableLength < 16 * 2 ** 20) it.socket.write(frame);
      return it.socket.writableLength >= 16 * 2 ** 20;
    },
    1,
  );
  const ending = new Promise<string>((resolve) => {
    it.socket.once('end', () => resolve('end'));
    it.socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
  agentEnd.ws.terminate();
  t.match(await closeOf(it), { code: CloseCode.NORMAL, reason: /other end of the tunnel closed/ });
  it.socket.write(maskedFrame(WsOpcode.CLOSE, Buffer.from([0x03, 0xe8])));
  // Still held back, the broker would never read this answer, and reset the connection at its 30 s cut.
  t.equal(await ending, 'end', 'the broker read through to the answer and hung up cleanly');
});

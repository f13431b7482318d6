// The client end of a tunnel (src/shared/tunnel-dial.ts, tunnel-socket.ts, tunnel-stream.ts) against
// the ws package's server, as an independent implementation of RFC 6455: bytes pass both ways in
// order and intact; writes that pile up while the socket is busy go out as fewer frames, none over
// the batch limit; frames carry a zero masking key; pings are answered; the server's close code and
// reason come through; a refused upgrade and a wrong accept key are told apart; batchesOf groups
// and cuts buffers without copying them.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { acceptKeyFor } from '../src/protocol/websocket-frames.js';
import { TunnelDialRefused, dialTunnel } from '../src/shared/tunnel-dial.js';
import { TUNNEL_BATCH_BYTES } from '../src/shared/tunnel-socket.js';
import { batchesOf, tunnelStream } from '../src/shared/tunnel-stream.js';
import { waitUntil } from './helpers/patience.js';

/** A ws server and the client end of one connection to it, as a stream. */
async function wsPair(t: Test): Promise<{ server: WebSocket; stream: Duplex }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 1024 * 1024 });
  t.teardown(() => wss.close());
  await new Promise((resolve) => wss.once('listening', resolve));
  const connected = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const socket = await dialTunnel(new URL(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`), { timeoutMs: 5000 });
  const stream = tunnelStream(socket);
  t.teardown(() => stream.destroy());
  return { server: await connected, stream };
}

function readBytes(stream: Duplex, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (have < size) return;
      stream.off('data', onData);
      resolve(Buffer.concat(chunks));
    };
    stream.on('data', onData);
  });
}

t.test('writes made while the socket is busy arrive batched, in order, intact', async (t) => {
  const { server, stream } = await wsPair(t);
  const messages: Buffer[] = [];
  server.on('message', (data) => messages.push(data as Buffer));
  // 600 SSH-packet-sized writes in one go: all but the first wait for the socket and are batched.
  const packets = Array.from({ length: 600 }, (_, i) => randomBytes(3000 + i));
  for (const packet of packets) stream.write(packet);
  const sent = Buffer.concat(packets);
  await waitUntil('every byte', () => messages.reduce((sum, m) => sum + m.length, 0) >= sent.length);
  t.ok(Buffer.concat(messages).equals(sent), 'the bytes arrive in order, unchanged');
  t.ok(messages.length < packets.length / 4, `${packets.length} writes arrived as ${messages.length} messages`);
  t.ok(
    messages.every((m) => m.length <= TUNNEL_BATCH_BYTES),
    'no message is larger than the batch limit',
  );
});

t.test('what the server sends, in messages of any size, reads back as one byte stream', async (t) => {
  const { server, stream } = await wsPair(t);
  const messages = [1, 125, 126, 65_535, 65_536, 300_000, 1_000_000].map((size) => randomBytes(size));
  const all = Buffer.concat(messages);
  const received = readBytes(stream, all.length);
  for (const message of messages) server.send(message);
  t.ok((await received).equals(all));
});

t.test("the server's pings are answered, and its close ends the stream with the handshake completed", async (t) => {
  const { server, stream } = await wsPair(t);
  const pong = new Promise<string>((resolve) => server.once('pong', (data) => resolve(String(data))));
  server.ping('still there?');
  t.equal(await pong, 'still there?', 'the pong carries the ping payload');
  const ended = new Promise<void>((resolve) => stream.once('end', resolve));
  stream.resume();
  const clientSaw = new Promise<number>((resolve) => server.once('close', (code) => resolve(code)));
  server.close(4403, 'not allowed');
  await ended;
  t.equal(await clientSaw, 4403, 'the close handshake completes with the same code');
});

/** A server that completes the WebSocket handshake by hand (with `accept`, or the right key) and keeps the raw bytes. */
async function rawServer(t: Test, accept?: string): Promise<{ port: number; received: () => Buffer }> {
  const chunks: Buffer[] = [];
  const server = createServer((socket: Socket) => {
    socket.once('data', (request) => {
      const key = /sec-websocket-key: *(\S+)/i.exec(request.toString())![1];
      const right = acceptKeyFor(key!);
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept ?? right}\r\n\r\n`,
      );
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    });
  });
  t.teardown(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, received: () => Buffer.concat(chunks) };
}

t.test('tunnel frames carry a zero masking key, so the bytes on the wire are the bytes written', async (t) => {
  const raw = await rawServer(t);
  const stream = tunnelStream(await dialTunnel(new URL(`ws://127.0.0.1:${raw.port}/`), { timeoutMs: 5000 }));
  t.teardown(() => stream.destroy());
  const payload = Buffer.from('SSH-2.0-test\r\n');
  stream.write(payload);
  await waitUntil('the first frame', () => raw.received().length >= 6 + payload.length);
  const frame = raw.received();
  t.equal(frame[0], 0x82, 'one final binary frame');
  t.equal(frame[1], 0x80 | payload.length, 'masked (as a client must), with the payload length');
  t.same([...frame.subarray(2, 6)], [0, 0, 0, 0], 'the masking key is zero');
  t.ok(frame.subarray(6, 6 + payload.length).equals(payload), 'the payload is sent as written');
});

t.test('a refused upgrade gives its status and body; a wrong accept key is refused', async (t) => {
  const refusing = createServer((socket) =>
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"detail":"no!"}\n'),
  );
  t.teardown(() => refusing.close());
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  const port = (refusing.address() as AddressInfo).port;
  await t.rejects(dialTunnel(new URL(`http://127.0.0.1:${port}/`), { timeoutMs: 5000 }), new TunnelDialRefused(403, '{"detail":"no!"}\n'));
  const liar = await rawServer(t, 'd3Jvbmcga2V5IGhlcmU=');
  await t.rejects(dialTunnel(new URL(`ws://127.0.0.1:${liar.port}/`), { timeoutMs: 5000 }), /wrong accept key/);
});

t.test('batchesOf groups neighbours up to the limit and cuts a longer buffer, copying nothing', async (t) => {
  const small = Buffer.alloc(TUNNEL_BATCH_BYTES / 4, 1);
  const big = Buffer.alloc(TUNNEL_BATCH_BYTES + 1, 2);
  const batches = batchesOf([small, small, small, small, small, big, small]);
  const sizes = batches.map((batch) => batch.reduce((sum, b) => sum + b.length, 0));
  t.same(sizes, [TUNNEL_BATCH_BYTES, TUNNEL_BATCH_BYTES / 4, TUNNEL_BATCH_BYTES, 1 + TUNNEL_BATCH_BYTES / 4]);
  t.ok(Buffer.concat(batches.flat()).equals(Buffer.concat([small, small, small, small, small, big, small])), 'same bytes, same order');
  t.ok(
    batches.flat().every((b) => b.buffer === small.buffer || b.buffer === big.buffer),
    'every piece is a view of a buffer written',
  );
  t.same(batchesOf([]), []);
});

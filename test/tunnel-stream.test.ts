// The tunnel's byte stream (src/shared/tunnel-stream.ts), against a real WebSocket server: writes that
// pile up while the socket is busy arrive as fewer messages, in order and intact, none larger than
// the batch limit; the frames carry a zero masking key; batchesOf keeps order and an oversize buffer;
// the buffers batches are joined into are used again once written, and only those.
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { BatchBuffers, TUNNEL_BATCH_BYTES, TUNNEL_SOCKET_OPTIONS, batchesOf, tunnelStream } from '../src/shared/tunnel-stream.js';
import { waitUntil } from './helpers/patience.js';

t.test('writes made while the socket is busy arrive batched, in order, intact', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 1024 * 1024 });
  t.teardown(() => wss.close());
  await new Promise((resolve) => wss.once('listening', resolve));
  const messages: Buffer[] = [];
  wss.on('connection', (ws) => ws.on('message', (data) => messages.push(data as Buffer)));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, TUNNEL_SOCKET_OPTIONS);
  t.teardown(() => ws.terminate());
  const stream = tunnelStream(ws);
  await new Promise((resolve) => ws.once('open', resolve));

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

/** A server that completes the WebSocket handshake by hand and keeps the raw bytes that follow. */
async function rawWebSocketServer(t: Test): Promise<{ port: number; received: () => Buffer }> {
  const chunks: Buffer[] = [];
  const server = createServer((socket: Socket) => {
    socket.once('data', (request) => {
      const key = /sec-websocket-key: *(\S+)/i.exec(request.toString())![1];
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    });
  });
  t.teardown(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, received: () => Buffer.concat(chunks) };
}

t.test('tunnel frames carry a zero masking key, so the bytes on the wire are the bytes written', async (t) => {
  const raw = await rawWebSocketServer(t);
  const ws = new WebSocket(`ws://127.0.0.1:${raw.port}`, TUNNEL_SOCKET_OPTIONS);
  t.teardown(() => ws.terminate());
  const stream = tunnelStream(ws);
  const payload = Buffer.from('SSH-2.0-test\r\n');
  stream.write(payload);
  await waitUntil('the first frame', () => raw.received().length >= 6 + payload.length);
  const frame = raw.received();
  t.equal(frame[0], 0x82, 'one final binary frame');
  t.equal(frame[1], 0x80 | payload.length, 'masked (as a client must), with the payload length');
  t.same([...frame.subarray(2, 6)], [0, 0, 0, 0], 'the masking key is zero');
  t.ok(frame.subarray(6, 6 + payload.length).equals(payload), 'the payload is sent as written');
});

t.test('batchesOf joins neighbours up to the limit and keeps an oversize buffer alone', async (t) => {
  const small = Buffer.alloc(TUNNEL_BATCH_BYTES / 4, 1);
  const big = Buffer.alloc(TUNNEL_BATCH_BYTES + 1, 2);
  const batches = batchesOf([small, small, small, small, small, big, small]);
  t.same(
    batches.map((b) => b.length),
    [TUNNEL_BATCH_BYTES, TUNNEL_BATCH_BYTES / 4, TUNNEL_BATCH_BYTES + 1, TUNNEL_BATCH_BYTES / 4],
  );
  t.ok(Buffer.concat(batches).equals(Buffer.concat([small, small, small, small, small, big, small])), 'same bytes, same order');
  t.same(batchesOf([]), []);
});

t.test('joined batches reuse their buffers once given back, and only their own', async (t) => {
  const buffers = new BatchBuffers();
  const first = buffers.take(1000);
  t.equal(first.length, 1000);
  buffers.give(first);
  const second = buffers.take(TUNNEL_BATCH_BYTES);
  t.equal(second.buffer, first.buffer, 'the memory given back is taken again');
  t.equal(second.length, TUNNEL_BATCH_BYTES, 'at its full size');
  const foreign = Buffer.alloc(TUNNEL_BATCH_BYTES);
  buffers.give(foreign);
  const third = buffers.take(10);
  t.not(third.buffer, foreign.buffer, 'a buffer it did not make is not kept');
  t.not(third.buffer, second.buffer, 'nor is one still taken handed out again');

  const joins: Buffer[] = [];
  const small = Buffer.alloc(100, 3);
  const batches = batchesOf([small, small, Buffer.alloc(TUNNEL_BATCH_BYTES, 4)], (size) => {
    joins.push(buffers.take(size));
    return joins.at(-1)!;
  });
  t.equal(joins.length, 1, 'only a batch of several is joined');
  t.equal(batches[0], joins[0], 'into the buffer the join function gave');
  t.ok(batches[0]!.equals(Buffer.concat([small, small])), 'holding the joined bytes');
});

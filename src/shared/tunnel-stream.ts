// A tunnel WebSocket as a byte stream, for the SSH client (`rac shell`, `rac cp`) and the agent's SSH
// server alike. ssh2 writes one SSH packet at a time; while the socket is still busy with the last
// message, the packets that pile up go out together as one message (up to TUNNEL_BATCH_BYTES), so a
// bulk copy costs the broker and both ends a WebSocket frame per batch instead of one per packet.
// Where a message ends means nothing: each end reads the messages as one byte stream.
import type { Duplex } from 'node:stream';
import { type WebSocket, createWebSocketStream } from 'ws';

/**
 * How the two ends dial a tunnel WebSocket. No compression: SSH ciphertext does not compress. A zero
 * masking key: masking keeps a script in a browser from making a proxy read bytes it chose as HTTP;
 * a tunnel carries SSH packets, ciphertext after the first few, that nobody can choose, and XORing
 * every byte with a key cost the sender a copy and the broker a pass over each message.
 */
export const TUNNEL_SOCKET_OPTIONS = {
  perMessageDeflate: false,
  generateMask: (mask: Buffer) => void mask.fill(0),
} as const;

/** The most bytes sent as one message: well under the broker's limit for one tunnel message (1 MiB). */
export const TUNNEL_BATCH_BYTES = 256 * 1024;

/** Joined batches kept for the next messages: _writev has one call on its way at a time. */
const KEPT_BATCH_BUFFERS = 4;

/**
 * Buffers of TUNNEL_BATCH_BYTES that joined batches are copied into, used again once ws has written
 * them out. A fresh 256 KiB buffer per message is memory never touched before: page faults on every
 * message, and garbage (a profile of `rac cp` showed the joins among the client's top costs).
 */
export class BatchBuffers {
  private readonly free: Buffer[] = [];
  private readonly ours = new WeakSet<ArrayBufferLike>();

  /** A buffer of `size` bytes (at most TUNNEL_BATCH_BYTES) to join a batch into. */
  take(size: number): Buffer {
    let buffer = this.free.pop();
    if (!buffer) {
      buffer = Buffer.allocUnsafeSlow(TUNNEL_BATCH_BYTES);
      this.ours.add(buffer.buffer);
    }
    return buffer.subarray(0, size);
  }

  /** A batch ws is done with: kept if it was one of ours. */
  give(batch: Buffer): void {
    if (this.ours.has(batch.buffer) && this.free.length < KEPT_BATCH_BUFFERS) {
      this.free.push(Buffer.from(batch.buffer, 0, TUNNEL_BATCH_BYTES));
    }
  }
}

/** The WebSocket's binary messages as a Duplex; writes made while one is on its way are batched. */
export function tunnelStream(ws: WebSocket): Duplex {
  const stream = createWebSocketStream(ws);
  const buffers = new BatchBuffers();
  stream._writev = (chunks, callback) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => stream._writev!(chunks, callback));
      return;
    }
    const batches = batchesOf(
      chunks.map(({ chunk }) => chunk as Buffer),
      (size) => buffers.take(size),
    );
    // ws writes messages in order: the last one's callback means all were handed to the socket.
    batches.forEach((batch, i) =>
      ws.send(batch, (err) => {
        buffers.give(batch);
        if (i === batches.length - 1) callback(err);
      }),
    );
  };
  return stream;
}

/**
 * Consecutive buffers joined into messages of at most TUNNEL_BATCH_BYTES (a longer buffer alone);
 * `join` gives the buffer a batch of several is copied into.
 */
export function batchesOf(buffers: Buffer[], join: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size)): Buffer[] {
  const batches: Buffer[] = [];
  let pending: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (pending.length === 1) batches.push(pending[0]!);
    if (pending.length > 1) batches.push(joined(pending, join(size)));
    pending = [];
    size = 0;
  };
  for (const buffer of buffers) {
    if (size + buffer.length > TUNNEL_BATCH_BYTES) flush();
    pending.push(buffer);
    size += buffer.length;
  }
  flush();
  return batches;
}

function joined(buffers: Buffer[], into: Buffer): Buffer {
  let offset = 0;
  for (const buffer of buffers) offset += buffer.copy(into, offset);
  return into;
}

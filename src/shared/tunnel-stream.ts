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

/** The WebSocket's binary messages as a Duplex; writes made while one is on its way are batched. */
export function tunnelStream(ws: WebSocket): Duplex {
  const stream = createWebSocketStream(ws);
  stream._writev = (chunks, callback) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => stream._writev!(chunks, callback));
      return;
    }
    const batches = batchesOf(chunks.map(({ chunk }) => chunk as Buffer));
    // ws writes messages in order: the last one's callback means all were handed to the socket.
    batches.forEach((batch, i) => ws.send(batch, i === batches.length - 1 ? callback : undefined));
  };
  return stream;
}

/** Consecutive buffers joined into messages of at most TUNNEL_BATCH_BYTES (a longer buffer alone). */
export function batchesOf(buffers: Buffer[]): Buffer[] {
  const batches: Buffer[] = [];
  let pending: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (pending.length > 0) batches.push(pending.length === 1 ? pending[0]! : Buffer.concat(pending, size));
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

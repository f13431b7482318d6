// A tunnel WebSocket as a byte stream, for the SSH client (`rac shell`, `rac cp`) and the agent's SSH
// server alike. Reading: each binary frame's slices are pushed as they are (a full reader pauses the
// socket). Writing: ssh2 writes one SSH packet at a time; the packets that pile up while the socket
// is busy go out as one frame of up to TUNNEL_BATCH_BYTES, written as a header and the packets
// themselves, never joined. Where a frame ends means nothing: each end reads one byte stream.
import { Duplex } from 'node:stream';
import { TUNNEL_BATCH_BYTES, type TunnelSocket } from './tunnel-socket.js';

/** The socket's binary frames as a Duplex; ending it closes the socket (1000), destroying it cuts it. */
export function tunnelStream(socket: TunnelSocket): Duplex {
  const stream = new Duplex({
    read: () => socket.resume(),
    writev: (chunks, callback) => sendBatches(socket, batchesOf(chunks.map(({ chunk }) => chunk as Buffer)), callback),
    write: (chunk: Buffer, _encoding, callback) => sendBatches(socket, [[chunk]], callback),
    final: (callback) => {
      socket.close(1000);
      callback();
    },
    destroy: (err, callback) => {
      if (socket.readyState !== socket.CLOSED) socket.terminate();
      callback(err);
    },
  });
  socket.on('frame', (frame) => {
    if (!frame.binary) return;
    for (const slice of frame.payload) if (!stream.push(slice)) socket.pause();
  });
  socket.once('close', () => stream.push(null));
  socket.begin();
  return stream;
}

/** Writes each batch as one frame; `callback` once the last is out (frames go out in order). */
function sendBatches(socket: TunnelSocket, batches: Buffer[][], callback: (err?: Error | null) => void): void {
  batches.forEach((batch, i) => {
    const length = batch.reduce((sum, b) => sum + b.length, 0);
    socket.sendBinary(batch, length, i === batches.length - 1 ? callback : undefined);
  });
}

/** Consecutive buffers grouped into frames of at most TUNNEL_BATCH_BYTES (a longer one cut, not copied). */
export function batchesOf(buffers: Buffer[]): Buffer[][] {
  const batches: Buffer[][] = [];
  let pending: Buffer[] = [];
  let size = 0;
  for (const buffer of buffers.flatMap(piecesOf)) {
    if (size + buffer.length > TUNNEL_BATCH_BYTES && pending.length > 0) {
      batches.push(pending);
      pending = [];
      size = 0;
    }
    pending.push(buffer);
    size += buffer.length;
  }
  if (pending.length > 0) batches.push(pending);
  return batches;
}

function piecesOf(buffer: Buffer): Buffer[] {
  if (buffer.length <= TUNNEL_BATCH_BYTES) return [buffer];
  const pieces: Buffer[] = [];
  for (let at = 0; at < buffer.length; at += TUNNEL_BATCH_BYTES) pieces.push(buffer.subarray(at, at + TUNNEL_BATCH_BYTES));
  return pieces;
}

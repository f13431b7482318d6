// The UDP datagrams the viewer sends and receives (DESIGN.md "UDP wire format", little-endian),
// and reassembly of type-1 frame chunks.
// A stand-in until src/protocol/ has the shared codecs and reassembler: keep it to this file so
// the switch is one import.

export const PACKET = { frameChunk: 1, mouse: 2, keyboard: 3, control: 4 } as const;
const FRAME_HEADER = 1 + 8 + 4 + 4 + 4;

export function encodeMouse(x: number, y: number, button: number, state: number): Buffer {
  const b = Buffer.alloc(11);
  b[0] = PACKET.mouse;
  b.writeInt32LE(x, 1);
  b.writeInt32LE(y, 5);
  b[9] = button;
  b[10] = state;
  return b;
}

export function encodeKey(vk: number, down: boolean): Buffer {
  const b = Buffer.alloc(4);
  b[0] = PACKET.keyboard;
  b.writeUInt16LE(vk, 1);
  b[3] = down ? 1 : 0;
  return b;
}

export function encodeControl(message: { type: string; [key: string]: unknown }): Buffer {
  return Buffer.concat([Buffer.from([PACKET.control]), Buffer.from(JSON.stringify(message), 'utf8')]);
}

export interface FrameChunk {
  frameId: bigint;
  index: number;
  total: number;
  size: number;
  data: Buffer;
}

export type Datagram =
  | { type: 'chunk'; chunk: FrameChunk }
  | { type: 'control'; message: { type: string; [key: string]: unknown } }
  | { type: 'invalid'; reason: string };

/** Never throws: anything malformed is `invalid` with a reason. */
export function decodeDatagram(msg: Buffer): Datagram {
  if (msg.length === 0) return { type: 'invalid', reason: 'empty datagram' };
  if (msg[0] === PACKET.frameChunk) {
    if (msg.length < FRAME_HEADER) return { type: 'invalid', reason: 'short frame chunk' };
    const chunk = {
      frameId: msg.readBigInt64LE(1),
      index: msg.readInt32LE(9),
      total: msg.readInt32LE(13),
      size: msg.readInt32LE(17),
      data: msg.subarray(FRAME_HEADER),
    };
    if (chunk.total < 1 || chunk.index < 0 || chunk.index >= chunk.total || chunk.size < 0 || chunk.total > 65536) {
      return { type: 'invalid', reason: 'frame chunk header out of range' };
    }
    return { type: 'chunk', chunk };
  }
  if (msg[0] === PACKET.control) {
    try {
      const message = JSON.parse(msg.subarray(1).toString('utf8')) as unknown;
      if (typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string') {
        return { type: 'control', message: message as { type: string } };
      }
    } catch {
      // fall through
    }
    return { type: 'invalid', reason: 'control message is not a JSON object with a type' };
  }
  return { type: 'invalid', reason: `unexpected packet type ${msg[0]}` };
}

interface PartialFrame {
  chunks: Array<Buffer | undefined>;
  received: number;
  size: number;
}

/**
 * Collects chunks by frame id. A frame is complete when all its chunks arrived; a newer complete
 * frame makes every older partial frame lost (UDP reorders a little, so a few frames are kept).
 */
export class FrameAssembler {
  private partial = new Map<bigint, PartialFrame>();
  private newestDelivered = -1n;
  lost = 0;
  delivered = 0;

  constructor(private readonly maxPending = 4) {}

  /** Returns the whole JPEG when this chunk completes a frame. */
  add(chunk: FrameChunk): Buffer | undefined {
    // Ids far below the newest frame mean the agent started again: start over with it.
    if (chunk.frameId + 100_000n < this.newestDelivered) this.reset();
    if (chunk.frameId <= this.newestDelivered) return undefined; // late chunk of a frame already shown or given up
    let frame = this.partial.get(chunk.frameId);
    if (!frame) {
      frame = { chunks: new Array(chunk.total), received: 0, size: chunk.size };
      this.partial.set(chunk.frameId, frame);
      if (this.partial.size > this.maxPending) {
        const oldest = [...this.partial.keys()].reduce((a, b) => (a < b ? a : b));
        this.partial.delete(oldest);
        this.lost++;
      }
    }
    if (frame.chunks.length !== chunk.total || frame.chunks[chunk.index]) return undefined;
    frame.chunks[chunk.index] = chunk.data;
    frame.received++;
    if (frame.received < chunk.total) return undefined;
    const jpeg = Buffer.concat(frame.chunks as Buffer[]);
    this.partial.delete(chunk.frameId);
    for (const id of [...this.partial.keys()]) {
      if (id < chunk.frameId) {
        this.partial.delete(id);
        this.lost++;
      }
    }
    this.newestDelivered = chunk.frameId;
    if (frame.size && jpeg.length !== frame.size) {
      this.lost++;
      return undefined;
    }
    this.delivered++;
    return jpeg;
  }

  reset(): void {
    this.partial.clear();
    this.newestDelivered = -1n;
  }
}

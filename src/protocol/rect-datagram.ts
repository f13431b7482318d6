// Type-7 datagrams (docs/protocol.md "Rectangles (type 7)"): one update of the screen as a few
// JPEG rectangles instead of a whole frame. Each rectangle is its own JPEG, cut into chunks like a
// type-1 frame; every datagram names its update (frame id), the update it applies on top of (base
// frame id), which rectangle of how many it carries, where that rectangle goes, and which chunk of
// the rectangle's JPEG it is. Like every inner datagram of ours it only travels sealed (type 5).
// Little-endian; the decoder never throws.
import { DEFAULT_MAX_FRAME_BYTES, type FrameChunk } from './datagram.js';
import { type ParseResult, fail, ok } from './result.js';

export const RECT_PACKET_TYPE = 7;
/** uint8 type, int64 frame id, int64 base frame id, uint16 rect index, uint16 rect count, uint16 x, y, w, h, uint16 chunk index, uint16 chunk count, uint32 JPEG size. */
export const RECT_HEADER_BYTES = 37;
/** More changed areas than this are merged before they are sent; a receiver refuses more. */
export const MAX_RECTS_PER_UPDATE = 64;
const MAX_CHUNKS_PER_RECT = 0xffff;
const MAX_SIDE = 0xffff;

export interface RectChunk {
  type: 'rect';
  frameId: bigint;
  /** The frame id of the picture this update changes: a receiver that does not hold it cannot apply it. */
  baseFrameId: bigint;
  rectIndex: number;
  rectCount: number;
  x: number;
  y: number;
  width: number;
  height: number;
  chunkIndex: number;
  totalChunks: number;
  /** Bytes of this rectangle's whole JPEG. */
  totalSize: number;
  /** This chunk's JPEG bytes: a view into the datagram. */
  data: Uint8Array;
}

/** One rectangle of an update, as the agent encoded it. */
export interface EncodedRect {
  x: number;
  y: number;
  width: number;
  height: number;
  jpeg: Uint8Array;
}

/** Encodes one datagram; out-of-range fields throw RangeError (our own values, never network input). */
export function encodeRectChunk(chunk: Omit<RectChunk, 'type'>): Buffer {
  const buf = Buffer.allocUnsafe(RECT_HEADER_BYTES + chunk.data.byteLength);
  buf.writeUInt8(RECT_PACKET_TYPE, 0);
  buf.writeBigInt64LE(chunk.frameId, 1);
  buf.writeBigInt64LE(chunk.baseFrameId, 9);
  buf.writeUInt16LE(chunk.rectIndex, 17);
  buf.writeUInt16LE(chunk.rectCount, 19);
  buf.writeUInt16LE(chunk.x, 21);
  buf.writeUInt16LE(chunk.y, 23);
  buf.writeUInt16LE(chunk.width, 25);
  buf.writeUInt16LE(chunk.height, 27);
  buf.writeUInt16LE(chunk.chunkIndex, 29);
  buf.writeUInt16LE(chunk.totalChunks, 31);
  buf.writeUInt32LE(chunk.totalSize, 33);
  buf.set(chunk.data, RECT_HEADER_BYTES);
  return buf;
}

/**
 * The type-7 datagrams of one update, rectangle by rectangle, chunk by chunk. `maxDatagramBytes`
 * bounds each inner datagram (the seal adds its own 28 bytes around it).
 */
export function chunkRects(rects: readonly EncodedRect[], frameId: bigint, baseFrameId: bigint, maxDatagramBytes: number): Buffer[] {
  const payload = maxDatagramBytes - RECT_HEADER_BYTES;
  if (!Number.isInteger(payload) || payload < 1)
    throw new RangeError(`datagram size ${maxDatagramBytes}: must exceed ${RECT_HEADER_BYTES} bytes`);
  if (rects.length < 1 || rects.length > MAX_RECTS_PER_UPDATE)
    throw new RangeError(`${rects.length} rectangles: must be 1–${MAX_RECTS_PER_UPDATE}`);
  const datagrams: Buffer[] = [];
  rects.forEach((rect, rectIndex) => {
    const totalSize = rect.jpeg.byteLength;
    const totalChunks = Math.ceil(totalSize / payload);
    if (totalSize < 1 || totalSize > DEFAULT_MAX_FRAME_BYTES || totalChunks > MAX_CHUNKS_PER_RECT) {
      throw new RangeError(
        `rectangle JPEG of ${totalSize} bytes: must be 1–${DEFAULT_MAX_FRAME_BYTES} in at most ${MAX_CHUNKS_PER_RECT} chunks`,
      );
    }
    for (let chunkIndex = 0; chunkIndex < totalChunks; chunkIndex++) {
      const data = rect.jpeg.subarray(chunkIndex * payload, Math.min((chunkIndex + 1) * payload, totalSize));
      const { x, y, width, height } = rect;
      datagrams.push(
        encodeRectChunk({
          frameId,
          baseFrameId,
          rectIndex,
          rectCount: rects.length,
          x,
          y,
          width,
          height,
          chunkIndex,
          totalChunks,
          totalSize,
          data,
        }),
      );
    }
  });
  return datagrams;
}

/** Decodes one type-7 datagram (the inner datagram of a seal). Never throws, whatever the bytes. */
export function decodeRectChunk(datagram: Uint8Array): ParseResult<RectChunk> {
  if (!(datagram instanceof Uint8Array)) return fail('BAD_TYPE', 'not a datagram: expected a Buffer or Uint8Array');
  if (datagram.byteLength === 0) return fail('EMPTY', 'empty datagram');
  if (datagram[0] !== RECT_PACKET_TYPE) return fail('BAD_TYPE', `packet type ${datagram[0]}: a rectangle is type ${RECT_PACKET_TYPE}`);
  if (datagram.byteLength < RECT_HEADER_BYTES + 1) {
    return fail(
      'TRUNCATED',
      `type-7 rectangle of ${datagram.byteLength} bytes: the header alone is ${RECT_HEADER_BYTES}, and at least one JPEG byte follows`,
    );
  }
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const chunk: RectChunk = {
    type: 'rect',
    frameId: view.getBigInt64(1, true),
    baseFrameId: view.getBigInt64(9, true),
    rectIndex: u16(17),
    rectCount: u16(19),
    x: u16(21),
    y: u16(23),
    width: u16(25),
    height: u16(27),
    chunkIndex: u16(29),
    totalChunks: u16(31),
    totalSize: view.getUint32(33, true),
    data: datagram.subarray(RECT_HEADER_BYTES),
  };
  const problem = rectProblem(chunk);
  return problem ? fail(problem[0], `type-7 ${problem[1]}`) : ok(chunk);
}

function rectProblem(c: RectChunk): [Parameters<typeof fail>[0], string] | undefined {
  if (c.rectCount < 1 || c.rectCount > MAX_RECTS_PER_UPDATE)
    return ['BAD_FIELD', `rectangle count ${c.rectCount}: must be 1–${MAX_RECTS_PER_UPDATE}`];
  if (c.rectIndex >= c.rectCount) return ['BAD_FIELD', `rectangle index ${c.rectIndex} of ${c.rectCount}`];
  if (c.width < 1 || c.height < 1) return ['BAD_FIELD', `empty rectangle ${c.width}×${c.height}`];
  if (c.x + c.width > MAX_SIDE || c.y + c.height > MAX_SIDE)
    return ['BAD_FIELD', `rectangle ${c.width}×${c.height} at ${c.x},${c.y} ends past ${MAX_SIDE}`];
  if (c.totalSize < 1 || c.totalSize > DEFAULT_MAX_FRAME_BYTES)
    return ['FRAME_TOO_LARGE', `JPEG size ${c.totalSize}: must be 1–${DEFAULT_MAX_FRAME_BYTES} bytes`];
  if (c.totalChunks < 1 || c.totalChunks > c.totalSize)
    return ['BAD_CHUNK_COUNT', `total chunks ${c.totalChunks}: must be 1–${Math.min(MAX_CHUNKS_PER_RECT, c.totalSize)}`];
  if (c.chunkIndex >= c.totalChunks) return ['CHUNK_INDEX_OUT_OF_RANGE', `chunk index ${c.chunkIndex} of ${c.totalChunks} chunks`];
  if (c.data.byteLength > c.totalSize) return ['CHUNK_TOO_LARGE', `chunk of ${c.data.byteLength} bytes for a JPEG of ${c.totalSize}`];
  return undefined;
}

/**
 * One rectangle's chunk as a type-1 style chunk for the frame reassembler, keyed by update and
 * rectangle (frame id × 64 + rectangle index), so rectangles reassemble with the same bounded code.
 */
export function rectAsFrameChunk(chunk: RectChunk): Omit<FrameChunk, 'type'> {
  return {
    frameId: chunk.frameId * BigInt(MAX_RECTS_PER_UPDATE) + BigInt(chunk.rectIndex),
    chunkIndex: chunk.chunkIndex,
    totalChunks: chunk.totalChunks,
    totalSize: chunk.totalSize,
    data: chunk.data,
  };
}

/** A rectangle whose chunks all arrived: where it goes, which update it belongs to, its JPEG. */
export interface CompleteRect {
  frameId: bigint;
  baseFrameId: bigint;
  rectIndex: number;
  rectCount: number;
  x: number;
  y: number;
  width: number;
  height: number;
  jpeg: Buffer;
}

/** The complete rectangle for the chunk that completed it (`jpeg` from the frame reassembler). */
export function completeRect(chunk: RectChunk, jpeg: Buffer): CompleteRect {
  const { frameId, baseFrameId, rectIndex, rectCount, x, y, width, height } = chunk;
  return { frameId, baseFrameId, rectIndex, rectCount, x, y, width, height, jpeg };
}

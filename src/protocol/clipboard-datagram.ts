// Inner packet type 8 (CLIPBOARD): clipboard text between the agent and one viewer, always inside a
// sealed datagram (type 5 or 6), never in clear (docs/protocol.md "Clipboard (type 8)"). Text of up
// to 1 MiB is cut into chunks that fit one sealed datagram; the receiver acknowledges a whole
// transfer, and the sender sends it again when no acknowledgement comes. Text over the cap is not
// sent: a notice with its size goes instead, so the other end can say why nothing arrived.
// All integers are little-endian, like every other datagram. The decoder never throws.

import { type ParseResult, fail, ok } from './result.js';

/** The inner datagram's first byte (7 belongs to tiles). */
export const CLIPBOARD_PACKET_TYPE = 8;

/** What a type-8 packet carries, in its second byte. */
export const ClipboardKind = {
  /** One chunk of a transfer's UTF-8 text. */
  DATA: 0,
  /** The receiver has the whole transfer. */
  ACK: 1,
  /** The sender's clipboard holds more than the cap: nothing follows. */
  TOO_LARGE: 2,
} as const;

/** The largest clipboard text sent, in UTF-8 bytes (1 MiB). */
export const MAX_CLIPBOARD_BYTES = 1024 * 1024;
/** uint8 type, uint8 kind, uint32 transfer id. */
export const CLIPBOARD_BASE_BYTES = 6;
/** Base + uint16 chunk index, uint16 chunk count, uint32 total bytes. */
export const CLIPBOARD_DATA_HEADER_BYTES = 14;
/** Base + uint32 the size of the text that was not sent. */
export const CLIPBOARD_TOO_LARGE_BYTES = 10;
/** Text bytes per chunk: with the header and the seal (28 bytes) a datagram stays under 1200 bytes. */
export const CLIPBOARD_CHUNK_BYTES = 1152;
/** A chunk count is a uint16. */
export const MAX_CLIPBOARD_CHUNKS = 0xffff;

export interface ClipboardChunk {
  kind: 'data';
  transferId: number;
  chunkIndex: number;
  chunkCount: number;
  /** UTF-8 bytes of the whole text. */
  totalBytes: number;
  /** This chunk's bytes (a view into the datagram). */
  data: Uint8Array;
}

export interface ClipboardAck {
  kind: 'ack';
  transferId: number;
}

export interface ClipboardTooLarge {
  kind: 'too_large';
  transferId: number;
  /** UTF-8 bytes of the text that was not sent (capped at uint32). */
  totalBytes: number;
}

export type ClipboardPacket = ClipboardChunk | ClipboardAck | ClipboardTooLarge;

/** True when an inner (opened) datagram is a clipboard packet. */
export const isClipboardDatagram = (inner: Uint8Array): boolean => inner.byteLength > 0 && inner[0] === CLIPBOARD_PACKET_TYPE;

// ---------------------------------------------------------------------------------------- encoders

function base(kind: number, transferId: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  buf.writeUInt8(CLIPBOARD_PACKET_TYPE, 0);
  buf.writeUInt8(kind, 1);
  buf.writeUInt32LE(transferId, 2);
  return buf;
}

/**
 * The datagrams of one transfer. Throws RangeError for text over the cap or empty text (the
 * callers check first: over the cap they send encodeClipboardTooLarge, empty text is not sent).
 */
export function encodeClipboardText(transferId: number, text: string, chunkBytes = CLIPBOARD_CHUNK_BYTES): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_CLIPBOARD_BYTES) {
    throw new RangeError(`clipboard text of ${bytes.length} bytes: must be 1–${MAX_CLIPBOARD_BYTES}`);
  }
  const chunkCount = Math.ceil(bytes.length / chunkBytes);
  const datagrams: Buffer[] = [];
  for (let index = 0; index < chunkCount; index++) {
    const data = bytes.subarray(index * chunkBytes, (index + 1) * chunkBytes);
    const buf = base(ClipboardKind.DATA, transferId, CLIPBOARD_DATA_HEADER_BYTES + data.length);
    buf.writeUInt16LE(index, 6);
    buf.writeUInt16LE(chunkCount, 8);
    buf.writeUInt32LE(bytes.length, 10);
    data.copy(buf, CLIPBOARD_DATA_HEADER_BYTES);
    datagrams.push(buf);
  }
  return datagrams;
}

export function encodeClipboardAck(transferId: number): Buffer {
  return base(ClipboardKind.ACK, transferId, CLIPBOARD_BASE_BYTES);
}

export function encodeClipboardTooLarge(transferId: number, totalBytes: number): Buffer {
  const buf = base(ClipboardKind.TOO_LARGE, transferId, CLIPBOARD_TOO_LARGE_BYTES);
  buf.writeUInt32LE(Math.min(totalBytes, 0xffff_ffff), 6);
  return buf;
}

// ----------------------------------------------------------------------------------------- decoder

/** Decodes an opened inner datagram of type 8. Never throws, whatever the bytes. */
export function decodeClipboardPacket(datagram: Uint8Array): ParseResult<ClipboardPacket> {
  if (!(datagram instanceof Uint8Array)) return fail('BAD_TYPE', 'not a datagram: expected a Buffer or Uint8Array');
  if (datagram.byteLength === 0) return fail('EMPTY', 'empty datagram');
  if (datagram[0] !== CLIPBOARD_PACKET_TYPE) return fail('BAD_TYPE', `packet type ${datagram[0]}: a clipboard packet is type 8`);
  if (datagram.byteLength < CLIPBOARD_BASE_BYTES) {
    return fail('TRUNCATED', `type-8 clipboard packet of ${datagram.byteLength} bytes: the header alone is ${CLIPBOARD_BASE_BYTES}`);
  }
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const kind = view.getUint8(1);
  const transferId = view.getUint32(2, true);
  if (kind === ClipboardKind.ACK) {
    return datagram.byteLength === CLIPBOARD_BASE_BYTES
      ? ok({ kind: 'ack', transferId })
      : fail('TRAILING_BYTES', `type-8 acknowledgement of ${datagram.byteLength} bytes: must be ${CLIPBOARD_BASE_BYTES}`);
  }
  if (kind === ClipboardKind.TOO_LARGE) {
    if (datagram.byteLength !== CLIPBOARD_TOO_LARGE_BYTES) {
      const code = datagram.byteLength < CLIPBOARD_TOO_LARGE_BYTES ? 'TRUNCATED' : 'TRAILING_BYTES';
      return fail(code, `type-8 too-large notice of ${datagram.byteLength} bytes: must be ${CLIPBOARD_TOO_LARGE_BYTES}`);
    }
    return ok({ kind: 'too_large', transferId, totalBytes: view.getUint32(6, true) });
  }
  if (kind === ClipboardKind.DATA) return decodeChunk(datagram, view, transferId);
  return fail('BAD_FIELD', `type-8 kind ${kind}: must be 0 (data), 1 (ack) or 2 (too large)`);
}

function decodeChunk(datagram: Uint8Array, view: DataView, transferId: number): ParseResult<ClipboardPacket> {
  if (view.byteLength < CLIPBOARD_DATA_HEADER_BYTES) {
    return fail('TRUNCATED', `type-8 chunk of ${view.byteLength} bytes: the header alone is ${CLIPBOARD_DATA_HEADER_BYTES}`);
  }
  const chunkIndex = view.getUint16(6, true);
  const chunkCount = view.getUint16(8, true);
  const totalBytes = view.getUint32(10, true);
  const dataLength = view.byteLength - CLIPBOARD_DATA_HEADER_BYTES;
  if (totalBytes < 1 || totalBytes > MAX_CLIPBOARD_BYTES) {
    return fail('TOO_LARGE', `type-8 text of ${totalBytes} bytes: must be 1–${MAX_CLIPBOARD_BYTES}`);
  }
  if (chunkCount < 1 || chunkCount > totalBytes) {
    return fail('BAD_CHUNK_COUNT', `type-8 chunk count ${chunkCount}: must be 1–${Math.min(totalBytes, MAX_CLIPBOARD_CHUNKS)}`);
  }
  if (chunkIndex >= chunkCount) return fail('CHUNK_INDEX_OUT_OF_RANGE', `type-8 chunk index ${chunkIndex} of ${chunkCount} chunks`);
  if (dataLength < 1 || dataLength > totalBytes) {
    return fail('CHUNK_TOO_LARGE', `type-8 chunk of ${dataLength} bytes for a text of ${totalBytes}`);
  }
  const data = datagram.subarray(CLIPBOARD_DATA_HEADER_BYTES);
  return ok({ kind: 'data', transferId, chunkIndex, chunkCount, totalBytes, data });
}

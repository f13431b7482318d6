// Encoders and the decoder for every datagram on a session's UDP port (docs/protocol.md "UDP datagrams").
// All multi-byte integers are little-endian, as the reference Windows client's BinaryWriter writes
// them. decodeDatagram never throws: every read is bounds-checked first, and what a hostile or
// broken sender can put in a datagram comes back as a typed error.

import {
  type ControlMessage,
  type Handshake,
  type UnknownControlMessage,
  controlJson,
  handshakeJson,
  parseControlMessage,
  parseHandshake,
} from './control-messages.js';
import { type Failure, fail } from './result.js';

export const PacketType = {
  FRAME_CHUNK: 1,
  MOUSE: 2,
  KEYBOARD: 3,
  CONTROL: 4,
  /** Sealed (AEAD) datagram from the agent to one viewer: see sealed-header below and docs/security.md. */
  SEALED_TO_VIEWER: 5,
  /** Sealed (AEAD) datagram from one viewer to the agent. */
  SEALED_TO_AGENT: 6,
} as const;

/** First byte of a handshake datagram: `{`, the start of its JSON (there is no type byte). */
export const HANDSHAKE_FIRST_BYTE = 0x7b;

/** uint8 type, int64 frame id, int32 chunk index, int32 total chunks, int32 total image size. */
export const FRAME_CHUNK_HEADER_BYTES = 21;
/** uint8 type, int32 x, int32 y, uint8 button, uint8 state. */
export const MOUSE_PACKET_BYTES = 11;
/** uint8 type, uint16 virtual-key code, uint8 state. */
export const KEYBOARD_PACKET_BYTES = 4;

/** uint8 type, uint16 viewer id, uint8 key epoch, uint64 counter: the associated data of the AEAD. */
export const SEALED_HEADER_BYTES = 12;
/** The Poly1305 tag after the ciphertext. */
export const SEALED_TAG_BYTES = 16;
/** Header + tag: what sealing adds to an inner datagram. */
export const SEALED_OVERHEAD_BYTES = SEALED_HEADER_BYTES + SEALED_TAG_BYTES;

/** Default caps on what a type-1 header may claim (a 1080p desktop JPEG is 200–500 KB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_TOTAL_CHUNKS = 65536;

export const MouseButton = {
  NONE: 0, // move only
  LEFT: 1,
  RIGHT: 2,
  MIDDLE: 3,
  WHEEL_UP: 4,
  WHEEL_DOWN: 5,
} as const;
export type MouseButtonCode = (typeof MouseButton)[keyof typeof MouseButton];

/** 1 down, 0 up (for both mouse buttons and keys). */
export type KeyState = 0 | 1;

export interface FrameChunk {
  type: 'frame_chunk';
  /** int64 on the wire; the reference client uses .NET DateTime ticks. */
  frameId: bigint;
  chunkIndex: number;
  totalChunks: number;
  /** Size in bytes of the whole JPEG this chunk belongs to. */
  totalSize: number;
  /** This chunk's JPEG bytes. Decoded chunks are a view into the datagram (no copy). */
  data: Uint8Array;
}

export interface MouseEvent {
  type: 'mouse';
  /** Pixels of the agent's captured screen (int32: negative on a monitor left of the primary). */
  x: number;
  y: number;
  button: MouseButtonCode;
  state: KeyState;
}

export interface KeyboardEvent {
  type: 'keyboard';
  /** Windows virtual-key code (see virtual-keys.ts). */
  vk: number;
  state: KeyState;
}

export interface HandshakePacket extends Handshake {
  type: 'handshake';
}

export interface ControlPacket {
  type: 'control';
  message: ControlMessage | UnknownControlMessage;
}

/**
 * A sealed datagram as the relay sees it: the routing header in clear, the rest opaque. Only the
 * two parties can open `body` (see src/protocol/crypto/); the relay routes on `toAgent` and `viewerId`.
 */
export interface SealedPacket {
  type: 'sealed';
  /** Type 6 (viewer → agent) when true, type 5 (agent → viewer) when false. */
  toAgent: boolean;
  viewerId: number;
  /** Key generation (0–255, wraps): which key of the ratchet sealed it. */
  epoch: number;
  /** Per-direction, per-epoch message counter: the nonce. */
  counter: bigint;
  /** The 12 header bytes, the AEAD's associated data (a view into the datagram). */
  header: Uint8Array;
  /** Ciphertext followed by the 16-byte tag (a view into the datagram). */
  body: Uint8Array;
}

export type SealedHeader = Pick<SealedPacket, 'toAgent' | 'viewerId' | 'epoch' | 'counter'>;

export type Packet = HandshakePacket | FrameChunk | MouseEvent | KeyboardEvent | ControlPacket | SealedPacket;

export type DecodeResult = { ok: true; packet: Packet } | Failure;

export interface DecodeLimits {
  maxFrameBytes?: number;
  maxTotalChunks?: number;
}

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

// ---------------------------------------------------------------------------------------- encoders
// Encoders are for our own well-formed values: out-of-range numbers throw RangeError (a bug in the
// caller), they are never produced from network input.

export function encodeHandshake(handshake: Omit<Handshake, 'timestamp'> & { timestamp: number | bigint }): Buffer {
  return Buffer.from(handshakeJson(handshake), 'utf8');
}

export function encodeFrameChunk(chunk: Omit<FrameChunk, 'type'>): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_CHUNK_HEADER_BYTES + chunk.data.byteLength);
  buf.writeUInt8(PacketType.FRAME_CHUNK, 0);
  buf.writeBigInt64LE(chunk.frameId, 1);
  buf.writeInt32LE(chunk.chunkIndex, 9);
  buf.writeInt32LE(chunk.totalChunks, 13);
  buf.writeInt32LE(chunk.totalSize, 17);
  buf.set(chunk.data, FRAME_CHUNK_HEADER_BYTES);
  return buf;
}

export function encodeMouse(event: Omit<MouseEvent, 'type'>): Buffer {
  const buf = Buffer.allocUnsafe(MOUSE_PACKET_BYTES);
  buf.writeUInt8(PacketType.MOUSE, 0);
  buf.writeInt32LE(event.x, 1);
  buf.writeInt32LE(event.y, 5);
  buf.writeUInt8(event.button, 9);
  buf.writeUInt8(event.state, 10);
  return buf;
}

export function encodeKeyboard(event: Omit<KeyboardEvent, 'type'>): Buffer {
  const buf = Buffer.allocUnsafe(KEYBOARD_PACKET_BYTES);
  buf.writeUInt8(PacketType.KEYBOARD, 0);
  buf.writeUInt16LE(event.vk, 1);
  buf.writeUInt8(event.state, 3);
  return buf;
}

export function encodeControl(message: ControlMessage): Buffer {
  const json = Buffer.from(controlJson(message), 'utf8');
  const buf = Buffer.allocUnsafe(1 + json.length);
  buf[0] = PacketType.CONTROL;
  json.copy(buf, 1);
  return buf;
}

/** The 12-byte header of a sealed datagram (the AEAD's associated data). */
export function encodeSealedHeader(header: SealedHeader): Buffer {
  const buf = Buffer.allocUnsafe(SEALED_HEADER_BYTES);
  buf.writeUInt8(header.toAgent ? PacketType.SEALED_TO_AGENT : PacketType.SEALED_TO_VIEWER, 0);
  buf.writeUInt16LE(header.viewerId, 1);
  buf.writeUInt8(header.epoch, 3);
  buf.writeBigUInt64LE(header.counter, 4);
  return buf;
}

// ----------------------------------------------------------------------------------------- decoder

/** Decodes one datagram. Never throws, whatever the bytes. */
export function decodeDatagram(datagram: Uint8Array, limits: DecodeLimits = {}): DecodeResult {
  if (!(datagram instanceof Uint8Array)) return fail('BAD_TYPE', 'not a datagram: expected a Buffer or Uint8Array');
  const length = datagram.byteLength;
  if (length === 0) return fail('EMPTY', 'empty datagram');
  const first = datagram[0]!;
  if (first === HANDSHAKE_FIRST_BYTE) {
    const parsed = parseHandshake(datagram);
    return parsed.ok ? { ok: true, packet: { type: 'handshake', ...parsed.value } } : parsed;
  }
  const view = new DataView(datagram.buffer, datagram.byteOffset, length);
  switch (first) {
    case PacketType.FRAME_CHUNK:
      return decodeFrameChunk(datagram, view, limits);
    case PacketType.MOUSE:
      return decodeMouse(view);
    case PacketType.KEYBOARD:
      return decodeKeyboard(view);
    case PacketType.SEALED_TO_VIEWER:
    case PacketType.SEALED_TO_AGENT:
      return decodeSealed(datagram, view);
    case PacketType.CONTROL: {
      if (length === 1) return fail('EMPTY', 'type-4 control packet without a JSON body');
      const parsed = parseControlMessage(datagram.subarray(1));
      return parsed.ok ? { ok: true, packet: { type: 'control', message: parsed.value } } : parsed;
    }
    default:
      return fail('BAD_TYPE', `unknown packet type ${first} (expected 1–6, or "{" for a handshake)`);
  }
}

function decodeFrameChunk(datagram: Uint8Array, view: DataView, limits: DecodeLimits): DecodeResult {
  const maxFrameBytes = limits.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxTotalChunks = limits.maxTotalChunks ?? DEFAULT_MAX_TOTAL_CHUNKS;
  if (view.byteLength < FRAME_CHUNK_HEADER_BYTES) {
    return fail('TRUNCATED', `type-1 frame chunk of ${view.byteLength} bytes: the header alone is ${FRAME_CHUNK_HEADER_BYTES}`);
  }
  const frameId = view.getBigInt64(1, true);
  const chunkIndex = view.getInt32(9, true);
  const totalChunks = view.getInt32(13, true);
  const totalSize = view.getInt32(17, true);
  const dataLength = view.byteLength - FRAME_CHUNK_HEADER_BYTES;
  if (totalSize < 1 || totalSize > maxFrameBytes) {
    return fail('FRAME_TOO_LARGE', `type-1 total image size ${totalSize}: must be 1–${maxFrameBytes} bytes`);
  }
  if (totalChunks < 1 || totalChunks > maxTotalChunks || totalChunks > totalSize) {
    return fail('BAD_CHUNK_COUNT', `type-1 total chunks ${totalChunks}: must be 1–${Math.min(maxTotalChunks, totalSize)}`);
  }
  if (chunkIndex < 0 || chunkIndex >= totalChunks) {
    return fail('CHUNK_INDEX_OUT_OF_RANGE', `type-1 chunk index ${chunkIndex} of ${totalChunks} chunks`);
  }
  if (dataLength < 1 || dataLength > totalSize) {
    return fail('CHUNK_TOO_LARGE', `type-1 chunk of ${dataLength} bytes for an image of ${totalSize}`);
  }
  return {
    ok: true,
    packet: {
      type: 'frame_chunk',
      frameId,
      chunkIndex,
      totalChunks,
      totalSize,
      data: datagram.subarray(FRAME_CHUNK_HEADER_BYTES),
    },
  };
}

function decodeSealed(datagram: Uint8Array, view: DataView): DecodeResult {
  // At least one byte of inner datagram: an empty plaintext is never sealed.
  if (view.byteLength < SEALED_OVERHEAD_BYTES + 1) {
    return fail('TRUNCATED', `sealed datagram of ${view.byteLength} bytes: header and tag alone are ${SEALED_OVERHEAD_BYTES}`);
  }
  return {
    ok: true,
    packet: {
      type: 'sealed',
      toAgent: view.getUint8(0) === PacketType.SEALED_TO_AGENT,
      viewerId: view.getUint16(1, true),
      epoch: view.getUint8(3),
      counter: view.getBigUint64(4, true),
      header: datagram.subarray(0, SEALED_HEADER_BYTES),
      body: datagram.subarray(SEALED_HEADER_BYTES),
    },
  };
}

function decodeMouse(view: DataView): DecodeResult {
  const lengthError = checkFixedLength(view, MOUSE_PACKET_BYTES, 'type-2 mouse packet');
  if (lengthError) return lengthError;
  const x = view.getInt32(1, true);
  const y = view.getInt32(5, true);
  const button = view.getUint8(9);
  const state = view.getUint8(10);
  if (button > MouseButton.WHEEL_DOWN) return fail('BAD_FIELD', `type-2 mouse button ${button}: must be 0–5`);
  if (state > 1) return fail('BAD_FIELD', `type-2 mouse state ${state}: must be 1 (down) or 0 (up)`);
  return { ok: true, packet: { type: 'mouse', x, y, button: button as MouseButtonCode, state: state as KeyState } };
}

function decodeKeyboard(view: DataView): DecodeResult {
  const lengthError = checkFixedLength(view, KEYBOARD_PACKET_BYTES, 'type-3 keyboard packet');
  if (lengthError) return lengthError;
  const vk = view.getUint16(1, true);
  const state = view.getUint8(3);
  if (vk < 0x01 || vk > 0xfe) return fail('BAD_FIELD', `type-3 virtual-key code ${vk}: must be 0x01–0xFE`);
  if (state > 1) return fail('BAD_FIELD', `type-3 key state ${state}: must be 1 (down) or 0 (up)`);
  return { ok: true, packet: { type: 'keyboard', vk, state: state as KeyState } };
}

function checkFixedLength(view: DataView, expected: number, what: string): DecodeResult | undefined {
  if (view.byteLength < expected) return fail('TRUNCATED', `${what} of ${view.byteLength} bytes: must be ${expected}`);
  if (view.byteLength > expected) return fail('TRAILING_BYTES', `${what} of ${view.byteLength} bytes: must be ${expected}`);
  return undefined;
}

/** True for numbers an int32 field can carry (for callers validating before encoding). */
export const isInt32 = (n: number): boolean => Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;

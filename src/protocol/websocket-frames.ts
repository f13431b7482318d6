// WebSocket frames (RFC 6455, section 5) for the broker's tunnel pipe, which forwards SSH bytes
// frame by frame without joining a message into one buffer first: WsFrameReader is a bounds-checked
// state machine over a byte stream that hands back each frame as the slices of the chunks it came
// in (no copy), and wsFrameHeader writes the header a frame is sent with. The WebSocket handshake's
// accept key is here too. Pure functions and one stateful parser; no I/O.
import { createHash } from 'node:crypto';

export const WsOpcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** Close codes of the frame layer itself. */
export const WsCloseCode = { PROTOCOL_ERROR: 1002, TOO_BIG: 1009 } as const;

/** A control frame's payload is at most this long, and never fragmented. */
export const MAX_CONTROL_PAYLOAD = 125;
/** The longest header: 2 bytes, a 64-bit length and a masking key. */
const MAX_HEADER_BYTES = 14;
const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a client's Sec-WebSocket-Key. */
export function acceptKeyFor(key: string): string {
  return createHash('sha1')
    .update(key + HANDSHAKE_GUID)
    .digest('base64');
}

/** Whether a Sec-WebSocket-Key is what RFC 6455 asks for: 16 bytes in base64. */
export function isWebSocketKey(key: unknown): key is string {
  return typeof key === 'string' && /^[A-Za-z0-9+/]{22}==$/.test(key);
}

/**
 * A frame's header: FIN, opcode and payload length; `masked` (a client's frame) adds the mask bit and
 * a zero masking key, so the payload goes out as it is.
 */
export function wsFrameHeader(opcode: number, fin: boolean, length: number, masked = false): Buffer {
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = (masked ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(length, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

/** A close frame's payload: the code, then a reason cut to fit a control frame (whole characters). */
export function wsClosePayload(code: number, reason: string): Buffer {
  let text = Buffer.from(reason);
  while (text.length > MAX_CONTROL_PAYLOAD - 2) text = Buffer.from((reason = reason.slice(0, -1)));
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return payload;
}

/** A received close frame's code and reason (1005: none given). */
export function parseWsClosePayload(payload: Buffer): { code: number; reason: string } {
  if (payload.length < 2) return { code: 1005, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() };
}

export interface WsFrame {
  opcode: number;
  fin: boolean;
  /** For a data frame: whether its message is binary (a continuation frame takes its message's kind). */
  binary: boolean;
  /** Whether this frame starts a message (a data frame that is not a continuation). */
  first: boolean;
  /** The payload, unmasked, as slices of the chunks pushed (no copy). */
  payload: Buffer[];
  length: number;
}

export interface WsFrameError {
  closeCode: number;
  message: string;
}

export interface WsFrameReaderOptions {
  /** The longest payload a frame may have (a control frame's is MAX_CONTROL_PAYLOAD). */
  maxPayload: number;
  /** Whether frames must be masked (frames from a client) or must not be (from a server). */
  masked: boolean;
}

/**
 * Reads frames out of a byte stream pushed in chunks of any size. Unmasks payloads in place: the
 * chunks pushed must be the caller's to change. After an error it reads nothing more.
 */
export class WsFrameReader {
  private header = Buffer.alloc(MAX_HEADER_BYTES);
  private headerBytes = 0;
  private frame: WsFrame | undefined;
  private left = 0;
  private mask: Buffer | undefined;
  private maskOffset = 0;
  /** The kind of the fragmented message under way, if one is. */
  private fragmented: 'binary' | 'text' | undefined;
  private failed: WsFrameError | undefined;

  constructor(private readonly options: WsFrameReaderOptions) {}

  /** Reads `chunk`: the frames it completes, and the error that ends the stream if one does. */
  push(chunk: Buffer): { frames: WsFrame[]; error?: WsFrameError } {
    const frames: WsFrame[] = [];
    let at = 0;
    while (!this.failed && at < chunk.length) {
      if (!this.frame) {
        at = this.readHeader(chunk, at);
        if (this.frame && this.left === 0) frames.push(this.finish());
        continue;
      }
      const take = Math.min(this.left, chunk.length - at);
      this.frame.payload.push(this.unmasked(chunk.subarray(at, at + take)));
      this.left -= take;
      at += take;
      if (this.left === 0) frames.push(this.finish());
    }
    return this.failed ? { frames, error: this.failed } : { frames };
  }

  /** Gathers header bytes from `chunk` from `at`; starts the frame once they are all in. */
  private readHeader(chunk: Buffer, at: number): number {
    while (at < chunk.length) {
      this.header[this.headerBytes++] = chunk[at++]!;
      const need = this.headerLength();
      if (need !== undefined && this.headerBytes === need) {
        this.startFrame();
        return at;
      }
    }
    return at;
  }

  /** The header's full length once its first two bytes are in. */
  private headerLength(): number | undefined {
    if (this.headerBytes < 2) return undefined;
    const code = this.header[1]! & 0x7f;
    return 2 + (code === 126 ? 2 : code === 127 ? 8 : 0) + (this.header[1]! & 0x80 ? 4 : 0);
  }

  private startFrame(): void {
    const h = this.header;
    this.headerBytes = 0;
    const fin = (h[0]! & 0x80) !== 0;
    const opcode = h[0]! & 0x0f;
    const masked = (h[1]! & 0x80) !== 0;
    const code = h[1]! & 0x7f;
    const length = code === 126 ? h.readUInt16BE(2) : code === 127 ? Number(h.readBigUInt64BE(2)) : code;
    const lengthBytes = code === 126 ? 2 : code === 127 ? 8 : 0;
    const problem = this.check(h[0]! & 0x70, opcode, fin, masked, length);
    if (problem) {
      this.failed = problem;
      return;
    }
    this.mask = masked ? Buffer.from(h.subarray(2 + lengthBytes, 6 + lengthBytes)) : undefined;
    if (this.mask && this.mask.readUInt32BE(0) === 0) this.mask = undefined;
    this.maskOffset = 0;
    const data = opcode < WsOpcode.CLOSE;
    const binary = data && (opcode === WsOpcode.BINARY || (opcode === WsOpcode.CONTINUATION && this.fragmented === 'binary'));
    this.frame = { opcode, fin, binary, first: data && opcode !== WsOpcode.CONTINUATION, payload: [], length };
    this.left = length;
    if (data) this.fragmented = fin ? undefined : binary ? 'binary' : 'text';
  }

  /** What is wrong with a frame's header, if anything. */
  private check(reserved: number, opcode: number, fin: boolean, masked: boolean, length: number): WsFrameError | undefined {
    const protocol = (message: string) => ({ closeCode: WsCloseCode.PROTOCOL_ERROR, message });
    if (reserved !== 0) return protocol('a frame has reserved bits set (no extension was agreed)');
    if (masked !== this.options.masked) return protocol(this.options.masked ? 'a client frame is not masked' : 'a server frame is masked');
    if (opcode >= WsOpcode.CLOSE) {
      if (opcode > WsOpcode.PONG) return protocol(`unknown opcode ${opcode}`);
      if (!fin || length > MAX_CONTROL_PAYLOAD) return protocol('a control frame is fragmented or longer than 125 bytes');
      return undefined;
    }
    if (opcode > WsOpcode.BINARY) return protocol(`unknown opcode ${opcode}`);
    if (opcode === WsOpcode.CONTINUATION && !this.fragmented) return protocol('a continuation frame with no message under way');
    if (opcode !== WsOpcode.CONTINUATION && this.fragmented) return protocol('a new message before the last one ended');
    if (!Number.isSafeInteger(length) || length > this.options.maxPayload) {
      return { closeCode: WsCloseCode.TOO_BIG, message: `a frame of ${length} bytes is over the ${this.options.maxPayload}-byte limit` };
    }
    return undefined;
  }

  private unmasked(slice: Buffer): Buffer {
    const mask = this.mask;
    if (mask) {
      for (let i = 0; i < slice.length; i++) slice[i] = slice[i]! ^ mask[(this.maskOffset + i) & 3]!;
      this.maskOffset = (this.maskOffset + slice.length) & 3;
    }
    return slice;
  }

  private finish(): WsFrame {
    const frame = this.frame!;
    this.frame = undefined;
    return frame;
  }
}

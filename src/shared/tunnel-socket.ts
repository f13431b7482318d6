// One end of a tunnel WebSocket, written for a byte pipe, used by all three parties: the broker
// (the server's end of both sockets it joins), and the IT member's rac and the customer's agent
// (client ends). Frames come in as the slices of the TCP reads they arrived in (WsFrameReader) and
// go out as a header and the caller's buffers, so no end joins a message into one buffer or copies
// SSH bytes in JavaScript: with the ws package, those joins and their garbage were most of the
// broker's CPU in a `rac cp`, and a large part of each end's. Speaks the part of RFC 6455 a tunnel
// uses: data frames, ping, pong and the close handshake. A client end masks with a zero key (the
// bytes on the wire are the bytes written): masking guards proxies against a script choosing bytes
// that look like HTTP, and nobody chooses the bytes of SSH ciphertext.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type WsFrame, WsFrameReader, WsOpcode, parseWsClosePayload, wsClosePayload, wsFrameHeader } from '../protocol/websocket-frames.js';

/** The most one frame may carry, in either direction: rac's ends send at most TUNNEL_BATCH_BYTES. */
export const MAX_TUNNEL_FRAME_BYTES = 1024 * 1024;
/** The most bytes rac's ends put in one frame. */
export const TUNNEL_BATCH_BYTES = 256 * 1024;
/** How long a closing end has to answer the close frame (queued behind its data) before it is cut, as ws. */
const CLOSE_TIMEOUT_MS = 30_000;

export interface TunnelSocketEvents {
  /** A data frame (binary or text, a whole message or a fragment of one). */
  frame: [WsFrame];
  pong: [];
  /** The TCP connection is gone; `code` is the close frame's (1006 if none came). */
  close: [code: number, reason: string];
}

/** Which end of the WebSocket: a server reads masked frames and sends unmasked ones; a client the reverse. */
export type TunnelSocketRole = 'server' | 'client';

export class TunnelSocket extends EventEmitter<TunnelSocketEvents> {
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readyState: 1 | 2 | 3 = 1;
  private readonly reader: WsFrameReader;
  private closeTimer: NodeJS.Timeout | undefined;
  private received: { code: number; reason: string } | undefined;
  private begun = false;

  /** `head`: bytes read past the handshake. Nothing is read until begin(). */
  constructor(
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly role: TunnelSocketRole,
  ) {
    super();
    this.reader = new WsFrameReader({ maxPayload: MAX_TUNNEL_FRAME_BYTES, masked: role === 'server' });
    // Keystrokes of a shell go out at once, not when Nagle's algorithm lets them.
    (socket as Duplex & { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    socket.on('error', () => socket.destroy());
    socket.once('end', () => {
      // The other end sent FIN without a close frame: nothing more can be written either.
      if (this.readyState === this.OPEN) this.readyState = this.CLOSING;
      socket.end();
    });
    socket.once('close', () => this.closed());
    // A connection reset while its upgrade was being checked: it is closed already.
    if (socket.destroyed) process.nextTick(() => this.closed());
  }

  /** Starts reading, once the owner listens: frames read before would be lost. Once; later calls do nothing. */
  begin(): void {
    if (this.begun) return;
    this.begun = true;
    if (this.head.length > 0) this.read(this.head);
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
  }

  /** Bytes written to this end and not yet taken by the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** A text message (the broker's own JSON, such as tunnel_ready). */
  send(text: string): void {
    const payload = Buffer.from(text);
    this.write(WsOpcode.TEXT, true, [payload], payload.length);
  }

  /** Binary bytes as one frame (at most MAX_TUNNEL_FRAME_BYTES); `written` runs once they are out. */
  sendBinary(buffers: Buffer[], length: number, written?: (err?: Error | null) => void): void {
    this.write(WsOpcode.BINARY, true, buffers, length, written);
  }

  /** Sends a frame read from the other end: the same kind, fragment and payload slices. */
  forward(frame: WsFrame): void {
    const opcode = frame.first ? (frame.binary ? WsOpcode.BINARY : WsOpcode.TEXT) : WsOpcode.CONTINUATION;
    this.write(opcode, frame.fin, frame.payload, frame.length);
  }

  ping(): void {
    this.write(WsOpcode.PING, true, [], 0);
  }

  /** Starts the close handshake; the connection is cut if the other end does not answer in time. */
  close(code: number, reason = ''): void {
    if (this.readyState !== this.OPEN) return;
    const payload = wsClosePayload(code, reason);
    this.write(WsOpcode.CLOSE, true, [payload], payload.length);
    this.readyState = this.CLOSING;
    this.closeTimer = setTimeout(() => this.terminate(), CLOSE_TIMEOUT_MS).unref();
  }

  terminate(): void {
    this.socket.destroy();
  }

  /** Stops reading this end (its sender is then held back by TCP) until resume(). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Runs `then` once what was written has gone out to the kernel. */
  onceDrained(then: () => void): void {
    if (this.socket.writableLength === 0) then();
    else this.socket.once('drain', then);
  }

  private write(opcode: number, fin: boolean, payload: Buffer[], length: number, written?: (err?: Error | null) => void): void {
    if (this.readyState !== this.OPEN) {
      written?.(new Error('the tunnel is closed'));
      return;
    }
    const socket = this.socket;
    const buffers = [wsFrameHeader(opcode, fin, length, this.role === 'client'), ...payload];
    socket.cork();
    buffers.forEach((buffer, i) => socket.write(buffer, i === buffers.length - 1 ? written : undefined));
    socket.uncork();
  }

  private read(chunk: Buffer): void {
    if (this.readyState === this.CLOSED) return;
    const { frames, error } = this.reader.push(chunk);
    for (const frame of frames) this.handle(frame);
    if (error) {
      // Nothing more from this end can be read: say why, and hang up once that is written.
      this.close(error.closeCode, error.message);
      this.socket.end();
    }
  }

  private handle(frame: WsFrame): void {
    switch (frame.opcode) {
      case WsOpcode.PING:
        return this.write(WsOpcode.PONG, true, frame.payload, frame.length);
      case WsOpcode.PONG:
        return void this.emit('pong');
      case WsOpcode.CLOSE:
        return this.closeReceived(Buffer.concat(frame.payload));
      default:
        // Until the other end's close frame, its data still counts (as with ws): a stream that
        // ended its writing side still reads what was on the way.
        if (!this.received) this.emit('frame', frame);
    }
  }

  /** The other end sent its close frame: answer it (if this end had not closed first) and hang up. */
  private closeReceived(payload: Buffer): void {
    this.received = parseWsClosePayload(payload);
    if (this.readyState === this.OPEN) {
      const echo = this.received.code === 1005 ? Buffer.alloc(0) : payload.subarray(0, 2);
      this.write(WsOpcode.CLOSE, true, [echo], echo.length);
      this.readyState = this.CLOSING;
    }
    this.socket.end();
    this.closeTimer ??= setTimeout(() => this.terminate(), CLOSE_TIMEOUT_MS).unref();
  }

  private closed(): void {
    if (this.readyState === this.CLOSED) return;
    clearTimeout(this.closeTimer);
    this.readyState = this.CLOSED;
    const { code, reason } = this.received ?? { code: 1006, reason: '' };
    this.emit('close', code, reason);
  }
}

// The broker's end of one tunnel WebSocket, written for a byte pipe: frames come in as the slices
// of the TCP reads they arrived in (WsFrameReader) and go out as a header and those same slices, so
// the broker never joins a message into one buffer or copies SSH bytes in JavaScript. (The ws
// package joins every message: for `rac cp`, that join and its garbage were most of the broker's
// CPU.) Speaks the part of RFC 6455 a tunnel uses: binary data in, binary or text out, ping, pong
// and the close handshake. The surface mirrors ws's (readyState, send, close, terminate, 'close').
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { refuseUpgrade } from '../http-kit/upgrade-refusal.js';
import {
  WsFrameReader,
  type WsFrame,
  WsOpcode,
  acceptKeyFor,
  wsClosePayload,
  wsFrameHeader,
  isWebSocketKey,
  parseWsClosePayload,
} from '../protocol/websocket-frames.js';

/** How long a closing end has to answer the close frame before its TCP connection is cut. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface TunnelSocketEvents {
  /** A data frame (binary or text, a whole message or a fragment of one). */
  frame: [WsFrame];
  pong: [];
  /** The TCP connection is gone; `code` is the close frame's (1006 if none came). */
  close: [code: number, reason: string];
}

/**
 * Answers a tunnel upgrade with 101 and gives the socket, or refuses it with 400 (and undefined)
 * when the request is not a WebSocket handshake this broker speaks.
 */
export function acceptTunnelUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, maxPayload: number): TunnelSocket | undefined {
  const key = request.headers['sec-websocket-key'];
  const upgrade = request.headers.upgrade?.toLowerCase();
  if (request.method !== 'GET' || upgrade !== 'websocket' || request.headers['sec-websocket-version'] !== '13' || !isWebSocketKey(key)) {
    refuseUpgrade(socket, 400, { detail: 'Not a WebSocket (version 13) handshake' }, { 'Sec-WebSocket-Version': '13' });
    return undefined;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptKeyFor(key)}\r\n\r\n`,
  );
  return new TunnelSocket(socket, head, maxPayload);
}

export class TunnelSocket extends EventEmitter<TunnelSocketEvents> {
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readyState: 1 | 2 | 3 = 1;
  private readonly reader: WsFrameReader;
  private closeTimer: NodeJS.Timeout | undefined;
  private received: { code: number; reason: string } | undefined;

  constructor(
    private readonly socket: Duplex,
    head: Buffer,
    maxPayload: number,
  ) {
    super();
    this.reader = new WsFrameReader({ maxPayload, masked: true });
    socket.setMaxListeners(0);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => socket.destroy());
    socket.once('end', () => socket.end());
    socket.once('close', () => this.closed());
    if (head.length > 0) queueMicrotask(() => this.read(head));
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

  /** Sends a frame read from the other end: the same kind, fragment and payload slices. */
  forward(frame: WsFrame): boolean {
    return this.write(
      frame.first ? (frame.binary ? WsOpcode.BINARY : WsOpcode.TEXT) : WsOpcode.CONTINUATION,
      frame.fin,
      frame.payload,
      frame.length,
    );
  }

  ping(): void {
    this.write(WsOpcode.PING, true, [], 0);
  }

  /** Starts the close handshake; the connection is cut if the other end does not answer in time. */
  close(code: number, reason: string): void {
    if (this.readyState !== this.OPEN) return;
    const payload = wsClosePayload(code, reason);
    this.write(WsOpcode.CLOSE, true, [payload], payload.length);
    this.readyState = this.CLOSING;
    if (this.received) this.socket.end();
    else this.closeTimer = setTimeout(() => this.terminate(), CLOSE_TIMEOUT_MS).unref();
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

  private write(opcode: number, fin: boolean, payload: Buffer[], length: number): boolean {
    if (this.readyState !== this.OPEN) return false;
    const socket = this.socket;
    socket.cork();
    socket.write(wsFrameHeader(opcode, fin, length));
    for (const slice of payload) socket.write(slice);
    socket.uncork();
    return !socket.writableNeedDrain;
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
        return void this.write(WsOpcode.PONG, true, frame.payload, frame.length);
      case WsOpcode.PONG:
        return void this.emit('pong');
      case WsOpcode.CLOSE:
        return this.closeReceived(Buffer.concat(frame.payload));
      default:
        if (this.readyState === this.OPEN) this.emit('frame', frame);
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
  }

  private closed(): void {
    clearTimeout(this.closeTimer);
    this.readyState = this.CLOSED;
    const { code, reason } = this.received ?? { code: 1006, reason: '' };
    this.emit('close', code, reason);
  }
}

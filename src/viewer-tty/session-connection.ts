// The viewer's transport for one session (DESIGN.md): the viewer WebSocket with the login's token
// (udp_ticket, status), a UDP socket pinned by viewer_hello → viewer_ack, keepalives every 4 s,
// frame reassembly, and reconnecting when the WebSocket drops.
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import WebSocket from 'ws';
import { decodeDatagram, encodeControl, encodeKeyboard, encodeMouse } from '../protocol/datagram.js';
import { FrameReassembler } from '../protocol/frame-reassembler.js';
import { unixMsFromTicks } from '../protocol/frame-ids.js';
import type { MouseButtonCode } from '../protocol/datagram.js';
import { Signal, type SignalMessage, parseSignalMessage } from '../protocol/signal-messages.js';
import { backoffDelay } from '../shared/backoff.js';

export type LinkState = 'connecting' | 'joining' | 'connected' | 'reconnecting' | 'ended';

export interface SessionConnectionEvents {
  /** A complete JPEG frame. */
  frame?(jpeg: Buffer, frameId: bigint): void;
  /** Transport state; `detail` says why for reconnecting/ended. */
  state?(state: LinkState, detail?: string): void;
  /** The broker's session status: pending, active, disconnected, closed. */
  status?(status: string): void;
  /** Control messages from the agent (screen size, ...), other than keepalive/disconnect. */
  control?(message: { type: 'screen'; width: number; height: number }): void;
}

export interface SessionConnectionOptions {
  /** ws(s)://host/ws/session/CODE */
  webSocketUrl: string;
  token: string;
  events: SessionConnectionEvents;
  keepaliveMs?: number;
  helloRetryMs?: number;
  /** Reconnect delays grow from this up to 10 s. */
  reconnectBaseMs?: number;
}

/** The broker's shutdown notice carries `reason` (which the shared control parser leaves out). */
function isShutdown(datagram: Buffer): boolean {
  try {
    return (JSON.parse(datagram.subarray(1).toString('utf8')) as { reason?: unknown }).reason === 'shutdown';
  } catch {
    return false;
  }
}

/** Close codes after which trying again cannot help (the broker said no). */
const FINAL_CLOSE_CODES = new Set([1008, 4001, 4003, 4004, 4010]);

export interface LinkStats {
  fps: number;
  kbps: number;
  /** Lost frames / all frames in the last window, 0..1. */
  frameLoss: number;
  /**
   * How old frames are when they arrive (their id is the capture time in .NET ticks) when the
   * clocks agree; otherwise the WebSocket ping round trip, when the broker answers pings.
   */
  latencyMs?: number;
  framesShown: number;
}

export class SessionConnection {
  private ws?: WebSocket;
  private udp?: Socket;
  private udpFamily?: 'udp4' | 'udp6';
  private udpTarget?: { host: string; port: number };
  private ticket?: string;
  private acked = false;
  private closed = false;
  private attempts = 0;
  private timers = new Set<NodeJS.Timeout>();
  private keepaliveTimer?: NodeJS.Timeout;
  private helloTimer?: NodeJS.Timeout;
  private pingSentAt?: number;
  private rttMs?: number;
  private frameAgeMs?: number;
  private readonly assembler = new FrameReassembler();
  private window = { start: Date.now(), frames: 0, bytes: 0, droppedAtStart: 0 };
  private current: LinkStats = { fps: 0, kbps: 0, frameLoss: 0, framesShown: 0 };
  state: LinkState = 'connecting';
  /** Datagrams dropped as malformed: never fatal, only counted. */
  invalidDatagrams = 0;

  constructor(private readonly options: SessionConnectionOptions) {}

  start(): void {
    this.openWebSocket();
    this.every(1000, () => this.rollStats());
  }

  private setState(state: LinkState, detail?: string) {
    if (this.state === state && state !== 'reconnecting') return;
    this.state = state;
    this.options.events.state?.(state, detail);
  }

  private every(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setInterval(fn, ms);
    t.unref?.();
    this.timers.add(t);
    return t;
  }

  private clear(timer?: NodeJS.Timeout) {
    if (!timer) return;
    clearInterval(timer);
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  private openWebSocket() {
    const ws = new WebSocket(this.options.webSocketUrl, {
      headers: { authorization: `Bearer ${this.options.token}` },
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    let rejected: string | undefined;
    ws.on('unexpected-response', (_req, res) => {
      rejected = `the broker refused the connection (HTTP ${res.statusCode})`;
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      this.attempts = 0;
      this.ping();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const parsed = parseSignalMessage(data as Buffer);
      if (parsed.ok) this.onSignal(parsed.message);
    });
    ws.on('error', () => {}); // 'close' follows and decides
    ws.on('close', (code, reason) => {
      if (this.ws !== ws || this.closed) return;
      this.acked = false;
      this.clear(this.keepaliveTimer);
      this.clear(this.helloTimer);
      const why = rejected ?? (reason.toString() || `connection closed (${code})`);
      if (FINAL_CLOSE_CODES.has(code) || (rejected && /HTTP (401|403|404|410)/.test(rejected))) {
        this.end(why);
        return;
      }
      this.scheduleReconnect(why);
    });
  }

  private scheduleReconnect(why: string) {
    this.attempts++;
    const delay = backoffDelay(this.attempts - 1, this.options.reconnectBaseMs);
    this.setState('reconnecting', `${why}; trying again in ${(delay / 1000).toFixed(1)} s`);
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) this.openWebSocket();
    }, delay);
    this.timers.add(t);
  }

  private onSignal(message: SignalMessage) {
    switch (message.type) {
      case 'udp_ticket':
        this.ticket = message.ticket;
        void this.joinUdp(message.udp_port);
        break;
      case 'status':
        this.options.events.status?.(message.status);
        if (message.status === 'closed') this.end('the session was closed');
        break;
      case 'pong':
        if (this.pingSentAt !== undefined) this.rttMs = Date.now() - this.pingSentAt;
        this.pingSentAt = undefined;
        break;
      case 'disconnect':
        this.end('the broker ended the session');
        break;
    }
  }

  private ping() {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.pingSentAt = Date.now();
    this.ws.send(Signal.ping());
  }

  private async joinUdp(port: number) {
    const host = new URL(this.options.webSocketUrl).hostname.replace(/^\[|\]$/g, '');
    let address: { address: string; family: number };
    try {
      address = await lookup(host);
    } catch (err) {
      this.scheduleReconnect(`cannot resolve ${host}: ${(err as Error).message}`);
      return;
    }
    if (this.closed) return;
    const family = address.family === 6 ? 'udp6' : 'udp4';
    if (!this.udp || this.udpFamily !== family) {
      this.udp?.close();
      const udp = createSocket(family);
      this.udpFamily = family;
      udp.on('message', (msg) => this.onDatagram(msg));
      udp.on('error', () => {}); // ICMP errors surface here; keepalives keep trying
      this.udp = udp;
    }
    this.udpTarget = { host: address.address, port };
    this.acked = false;
    this.assembler.reset();
    this.setState('joining');
    this.clear(this.helloTimer);
    this.sendHello();
    let hellos = 1;
    this.helloTimer = this.every(this.options.helloRetryMs ?? 1000, () => {
      if (this.acked) return;
      this.sendHello();
      // Still no viewer_ack after a few tries: say where we are knocking (UDP may be blocked).
      if (++hellos === 5) this.options.events.state?.('joining', `no answer on UDP ${host}:${port} yet; is UDP blocked?`);
    });
    this.clear(this.keepaliveTimer);
    this.keepaliveTimer = this.every(this.options.keepaliveMs ?? 4000, () => {
      if (this.acked) this.sendUdp(encodeControl({ type: 'keepalive' }));
      this.ping();
    });
  }

  private sendHello() {
    if (this.ticket) this.sendUdp(encodeControl({ type: 'viewer_hello', ticket: this.ticket }));
  }

  private sendUdp(packet: Buffer) {
    if (!this.udp || !this.udpTarget || this.closed) return;
    this.udp.send(packet, this.udpTarget.port, this.udpTarget.host);
  }

  private onDatagram(msg: Buffer) {
    const decoded = decodeDatagram(msg);
    if (!decoded.ok) {
      this.invalidDatagrams++;
      return;
    }
    const packet = decoded.packet;
    if (packet.type === 'control') {
      const { message } = packet;
      if (message.type === 'viewer_ack') {
        if (!this.acked) {
          this.acked = true;
          this.clear(this.helloTimer);
          this.setState('connected');
          this.requestKeyframe();
        }
      } else if (message.type === 'disconnect') {
        // A broker going down for a restart says so (reason "shutdown") and closes the WebSocket
        // with 1012: that close drives the reconnect. Any other disconnect ends the session.
        if (!isShutdown(msg)) this.end('the session was closed');
      } else if (message.type === 'screen') {
        this.options.events.control?.(message);
      }
      return;
    }
    if (packet.type !== 'frame_chunk') {
      this.invalidDatagrams++; // mouse, keyboard and handshakes are for the agent, never for us
      return;
    }
    this.window.bytes += msg.length;
    const frame = this.assembler.push(packet);
    if (frame) {
      this.window.frames++;
      this.current.framesShown++;
      const age = Date.now() - unixMsFromTicks(frame.frameId);
      this.frameAgeMs = age >= 0 && age < 10_000 ? age : undefined;
      this.options.events.frame?.(frame.jpeg, frame.frameId);
    }
  }

  private dropped(): number {
    return Object.values(this.assembler.stats.framesDropped).reduce((a, b) => a + b, 0);
  }

  private rollStats() {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.window.start) / 1000);
    const droppedNow = this.dropped();
    const lost = droppedNow - this.window.droppedAtStart;
    const all = this.window.frames + lost;
    this.current = {
      ...this.current,
      fps: this.window.frames / seconds,
      kbps: (this.window.bytes * 8) / 1000 / seconds,
      frameLoss: all ? lost / all : 0,
      latencyMs: this.frameAgeMs ?? this.rttMs,
    };
    this.window = { start: now, frames: 0, bytes: 0, droppedAtStart: droppedNow };
  }

  stats(): LinkStats {
    return { ...this.current };
  }

  sendMouse(x: number, y: number, button: number, state: number): void {
    if (this.acked) this.sendUdp(encodeMouse({ x, y, button: button as MouseButtonCode, state: state ? 1 : 0 }));
  }

  sendKey(vk: number, down: boolean): void {
    if (this.acked && vk >= 0x01 && vk <= 0xfe) this.sendUdp(encodeKeyboard({ vk, state: down ? 1 : 0 }));
  }

  requestKeyframe(): void {
    if (this.acked) this.sendUdp(encodeControl({ type: 'request_keyframe' }));
  }

  private end(why: string) {
    if (this.closed) return;
    this.shutdown();
    this.setState('ended', why);
  }

  private shutdown() {
    this.closed = true;
    for (const t of this.timers) {
      clearInterval(t);
      clearTimeout(t);
    }
    this.timers.clear();
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
    this.udp?.close();
    this.udp = undefined;
  }

  /** Leaves the session (the viewer quits); the session itself stays open on the broker. */
  close(): void {
    this.shutdown();
  }
}

// The viewer's transport for one session (docs/protocol.md, docs/security.md): the viewer
// WebSocket with the login's token (joined, udp_ticket, status, the key exchange with the agent),
// a UDP socket pinned by viewer_hello → viewer_ack(cookie) → viewer_confirm → viewer_ready,
// keepalives every 4 s, sealed frames opened and reassembled, input sealed to the agent, and
// reconnecting when the WebSocket drops. Once keys are agreed, a sealed receive report and a
// timestamped keepalive go to the agent every second (receive-report.ts), which adapts the stream.
// Clear frames are accepted, and input sent in clear, only in a session that allows the reference
// client and only while no key exchange has completed. The viewer asks the agent for rectangles
// (`capabilities`); rectangles reassemble like frames and go to the `rect` event whole, for the
// display to apply in order.
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import WebSocket from 'ws';
import type { ControlMessage } from '../protocol/control-messages.js';
import {
  type FrameChunk,
  type MouseButtonCode,
  type SealedPacket,
  decodeDatagram,
  encodeControl,
  encodeKeyboard,
  encodeMouse,
} from '../protocol/datagram.js';
import { FrameReassembler } from '../protocol/frame-reassembler.js';
import { CAPABILITIES_TYPE, encodeCapabilities, parseCapabilities } from '../protocol/capabilities.js';
import {
  type CompleteRect,
  MAX_RECTS_PER_UPDATE,
  RECT_PACKET_TYPE,
  completeRect,
  decodeRectChunk,
  rectAsFrameChunk,
} from '../protocol/rect-datagram.js';
import { isClipboardDatagram } from '../protocol/clipboard-datagram.js';
import { Signal, type SignalMessage, parseSignalMessage } from '../protocol/signal-messages.js';
import { backoffDelay } from '../shared/backoff.js';
import { type TlsTrust, describeCertificateFailure, tlsConnectOptions } from '../shared/tls-trust.js';
import { isFinalCloseCode } from '../protocol/close-codes.js';
import { sshHostKeyFingerprint } from '../protocol/ssh-host-key.js';
import { AgentKeyExchange } from './agent-keys.js';
import { type LinkStats, LinkStatsWindow } from './link-stats.js';
import { REPORT_INTERVAL_MS, ReceiveReporter } from './receive-report.js';

export type LinkState = 'connecting' | 'joining' | 'connected' | 'reconnecting' | 'ended';

export interface SessionConnectionEvents {
  /** A complete JPEG frame. */
  frame?(jpeg: Buffer, frameId: bigint): void;
  /** A complete rectangle of an update (type 7): apply it on top of the frame it names. */
  rect?(rect: CompleteRect): void;
  /** Transport state; `detail` says why for reconnecting/ended. */
  state?(state: LinkState, detail?: string): void;
  /** The broker's session status: pending, active, disconnected, closed. */
  status?(status: string): void;
  /** Control messages from the agent (screen size, ...), other than keepalive/disconnect. */
  control?(message: { type: 'screen'; width: number; height: number }): void;
  /** Whether and how the stream is protected: the security code to compare, or NOT ENCRYPTED. */
  security?(security: StreamSecurity): void;
  /** An opened type-8 (clipboard) datagram from the agent; only ever from the sealed channel. */
  clipboard?(inner: Buffer): void;
}

/**
 * `exchanging`: keys are being agreed (nothing is shown or sent yet); `sealed`: end-to-end
 * encrypted, compare `sas` with the customer; `not_encrypted`: the reference client's clear stream.
 * `keyChanged`: a new customer agent joined (a new code to compare).
 */
export interface StreamSecurity {
  state: 'exchanging' | 'sealed' | 'not_encrypted';
  sas?: string;
  keyChanged?: boolean;
  /** The customer agent's SSH host key fingerprint ("SHA256:…") when it allows `rac shell`; the code covers it. */
  sshHostKeyFingerprint?: string;
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
  /** Extra CAs for a wss:// broker (--ca-file). */
  tls?: TlsTrust;
}

export type { LinkStats } from './link-stats.js';

/** How often an unanswered hello asks for a fresh ticket, or an unanswered confirm is repeated. */
const DEFAULT_HELLO_RETRY_MS = 1000;

export class SessionConnection {
  private ws?: WebSocket;
  private udp?: Socket;
  private udpFamily?: 'udp4' | 'udp6';
  private udpTarget?: { host: string; port: number };
  /** The cookie of the relay's viewer_ack, echoed until viewer_ready. */
  private cookie?: string;
  private acked = false;
  private closed = false;
  private attempts = 0;
  private timers = new Set<NodeJS.Timeout>();
  private keepaliveTimer?: NodeJS.Timeout;
  private helloTimer?: NodeJS.Timeout;
  private helloTries = 0;
  private pingSentAt?: number;
  private readonly assembler = new FrameReassembler();
  /** Keyed by frame id × 64 + rectangle (rectAsFrameChunk): a sender restart is 64 times as far back. */
  private readonly rectAssembler = new FrameReassembler({ restartBackwardTicks: 100_000_000n * BigInt(MAX_RECTS_PER_UPDATE) });
  /** The agent answered `capabilities` with "rect" (a reference client or older agent never does). */
  private agentRects = false;
  private rectsAskedAt = Number.NEGATIVE_INFINITY;
  private readonly keys: AgentKeyExchange;
  private readonly sessionCode: string;
  private ids?: { viewerId: number; sessionId: number };
  private allowUnencrypted = false;
  /** Clear frames came from a reference client in a session that allows one. */
  private clearAgent = false;
  private readonly linkStats = new LinkStatsWindow(() => this.droppedFrames());
  /** The once-a-second receive report to the agent (sealed only), which steers quality and fps by it. */
  private readonly reporter = new ReceiveReporter(() => this.droppedFrames());
  state: LinkState = 'connecting';
  /** Datagrams dropped as malformed, not for us, or not opened (forged, replayed): never fatal, only counted. */
  invalidDatagrams = 0;

  constructor(private readonly options: SessionConnectionOptions) {
    this.sessionCode = decodeURIComponent(new URL(options.webSocketUrl).pathname.split('/').filter(Boolean).pop() ?? '');
    this.keys = new AgentKeyExchange(this.sessionCode);
  }

  start(): void {
    this.openWebSocket();
    this.every(1000, () => this.linkStats.roll());
    this.every(REPORT_INTERVAL_MS, () => this.report());
  }

  private droppedFrames(): number {
    return droppedFrames(this.assembler) + droppedFrames(this.rectAssembler);
  }

  /** A timestamped keepalive (the agent echoes it: the round trip) and the last window's report. */
  private report() {
    const report = this.reporter.take();
    if (!this.acked || !this.keys.channel) return;
    this.sendSealed(encodeControl({ type: 'keepalive', t: this.reporter.stamp() }));
    this.sendSealed(encodeControl(report));
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

  // -------------------------------------------------------------------------------- WebSocket

  private openWebSocket() {
    const ws = new WebSocket(this.options.webSocketUrl, {
      headers: { authorization: `Bearer ${this.options.token}` },
      handshakeTimeout: 10_000,
      ...tlsConnectOptions(this.options.tls ?? {}),
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
    // 'close' follows and decides; a certificate that does not verify will not verify on a retry either.
    ws.on('error', (err) => {
      rejected ??= describeCertificateFailure(err, this.options.webSocketUrl.replace(/^ws/, 'http'), this.options.tls ?? {});
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws || this.closed) return;
      this.forgetUdpPin();
      const why = rejected ?? (reason.toString() || `connection closed (${code})`);
      if (isFinalCloseCode(code) || (rejected && /HTTP (401|403|404|410)|could not verify/.test(rejected))) {
        this.end(why);
        return;
      }
      this.scheduleReconnect(why);
    });
  }

  private send(text: string) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(text);
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
      case 'joined':
        this.ids = { viewerId: message.viewer_id, sessionId: message.session_id };
        this.allowUnencrypted = message.allow_unencrypted_agent;
        return this.startKeyExchange(false);
      case 'agent_joined':
        // A new customer agent: new keys and a new code to compare. A resume changes nothing.
        return message.resumed ? undefined : this.startKeyExchange(true);
      case 'agent_key':
        return this.onAgentKey(message.viewer_id, message.public_key, message.ssh_host_key);
      case 'udp_ticket':
        return void this.joinUdp(message.udp_port, message.ticket);
      case 'status':
        this.options.events.status?.(message.status);
        if (message.status === 'closed') this.end('the session was closed');
        return;
      case 'pong':
        if (this.pingSentAt !== undefined) this.linkStats.rttMs = Date.now() - this.pingSentAt;
        this.pingSentAt = undefined;
        return;
      case 'disconnect':
        return this.end('the broker ended the session');
    }
  }

  private ping() {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.pingSentAt = Date.now();
    this.send(Signal.ping());
  }

  // ----------------------------------------------------------------------------- key exchange

  private startKeyExchange(keyChanged: boolean) {
    this.clearAgent = false;
    this.send(Signal.keyCommit(this.keys.restart()));
    this.options.events.security?.({ state: 'exchanging', keyChanged });
  }

  private onAgentKey(viewerId: number, publicKey: string, sshHostKey?: string) {
    if (!this.ids || viewerId !== this.ids.viewerId) return;
    const answer = this.keys.answer(publicKey, this.ids, sshHostKey);
    if (!answer.ok) {
      this.invalidDatagrams++;
      return;
    }
    this.send(Signal.viewerKey(viewerId, answer.viewerKey));
    if (!answer.fresh) return;
    this.clearAgent = false;
    this.agentRects = false;
    this.assembler.reset();
    this.rectAssembler.reset();
    this.reporter.updates.reset();
    const fingerprint = sshHostKey === undefined ? undefined : sshHostKeyFingerprint(sshHostKey);
    this.options.events.security?.({
      state: 'sealed',
      sas: answer.channel.sas,
      ...(fingerprint ? { sshHostKeyFingerprint: fingerprint } : {}),
    });
    this.requestKeyframe();
  }

  // -------------------------------------------------------------------------------------- UDP

  private async joinUdp(port: number, ticket: string) {
    const host = new URL(this.options.webSocketUrl).hostname.replace(/^\[|\]$/g, '');
    let address: { address: string; family: number };
    try {
      address = await lookup(host);
    } catch (err) {
      this.scheduleReconnect(`cannot resolve ${host}: ${(err as Error).message}`);
      return;
    }
    if (this.closed) return;
    this.ensureSocket(address.family === 6 ? 'udp6' : 'udp4');
    this.udpTarget = { host: address.address, port };
    this.cookie = undefined;
    this.acked = false;
    if (this.state !== 'connected') this.setState('joining');
    this.sendUdp(encodeControl({ type: 'viewer_hello', ticket }));
    this.startUdpTimers(host, port);
  }

  private ensureSocket(family: 'udp4' | 'udp6') {
    if (this.udp && this.udpFamily === family) return;
    this.udp?.close();
    // Room for a whole frame or clipboard transfer while the loop is busy drawing (capped at rmem_max).
    const udp = createSocket({ type: family, recvBufferSize: 4 * 1024 * 1024 });
    this.udpFamily = family;
    udp.on('message', (msg) => this.onDatagram(msg));
    udp.on('error', () => {}); // ICMP errors surface here; keepalives keep trying
    this.udp = udp;
  }

  /** Until viewer_ready: a fresh ticket when the hello went unanswered (tickets are single-use), else the confirm again. */
  private startUdpTimers(host: string, port: number) {
    if (this.helloTimer) return;
    this.helloTries = 0;
    this.helloTimer = this.every(this.options.helloRetryMs ?? DEFAULT_HELLO_RETRY_MS, () => {
      if (this.acked) return;
      if (this.cookie) this.sendUdp(encodeControl({ type: 'viewer_confirm', cookie: this.cookie }));
      else this.send(Signal.udpTicketRequest());
      // Still no answer after a few tries: say where we are knocking (UDP may be blocked).
      if (++this.helloTries === 5) this.options.events.state?.('joining', `no answer on UDP ${host}:${port} yet; is UDP blocked?`);
    });
    this.keepaliveTimer ??= this.every(this.options.keepaliveMs ?? 4000, () => {
      if (this.acked) this.sendUdp(encodeControl({ type: 'keepalive' }));
      this.ping();
    });
  }

  private forgetUdpPin() {
    this.acked = false;
    this.cookie = undefined;
    this.clear(this.keepaliveTimer);
    this.clear(this.helloTimer);
    this.keepaliveTimer = undefined;
    this.helloTimer = undefined;
  }

  private sendUdp(packet: Buffer) {
    if (!this.udp || !this.udpTarget || this.closed) return;
    this.udp.send(packet, this.udpTarget.port, this.udpTarget.host);
  }

  private onDatagram(msg: Buffer) {
    const decoded = decodeDatagram(msg);
    if (!decoded.ok) return void this.invalidDatagrams++;
    const packet = decoded.packet;
    if (packet.type === 'sealed') return this.onSealed(packet, msg.length);
    if (packet.type === 'control' && packet.message.type !== 'unknown') return this.onRelayControl(packet.message);
    if (packet.type === 'frame_chunk' && this.acceptsClear()) {
      this.markClearAgent();
      return this.onFrameChunk(packet, msg.length);
    }
    this.invalidDatagrams++; // input, handshakes, or clear frames we may not accept
  }

  /** Clear messages: the relay's own, and (reference client only) the agent's screen size. */
  private onRelayControl(message: ControlMessage) {
    switch (message.type) {
      case 'viewer_ack':
        this.cookie = message.cookie;
        return this.sendUdp(encodeControl({ type: 'viewer_confirm', cookie: message.cookie }));
      case 'viewer_ready':
        return this.onPinned();
      case 'disconnect':
        // A broker going down for a restart says so and closes the WebSocket with 1012: that close
        // drives the reconnect. Any other disconnect from the broker ends the session.
        if (message.reason !== 'shutdown') this.end('the session was closed');
        return;
      case 'screen':
        if (this.acceptsClear()) return this.options.events.control?.(message);
        this.invalidDatagrams++;
        return;
    }
  }

  private onPinned() {
    if (this.acked) return;
    this.acked = true;
    this.setState('connected');
    this.requestKeyframe();
  }

  private onSealed(packet: SealedPacket, size: number) {
    const channel = this.keys.channel;
    const opened = channel && this.ids?.viewerId === packet.viewerId ? channel.opener.open(packet) : undefined;
    if (!opened?.ok) return void this.invalidDatagrams++;
    if (opened.value[0] === RECT_PACKET_TYPE) return this.onRectChunk(opened.value, size);
    if (isClipboardDatagram(opened.value)) return this.options.events.clipboard?.(opened.value);
    const inner = decodeDatagram(opened.value);
    if (!inner.ok) return void this.invalidDatagrams++;
    const content = inner.packet;
    if (content.type === 'frame_chunk') {
      // Frames flow: the agent has allowed us, so it will hear the question now (it drops earlier ones).
      this.askForRects();
      return this.onFrameChunk(content, size);
    }
    if (content.type !== 'control') return void this.invalidDatagrams++;
    const message = content.message;
    if (message.type === 'screen') this.options.events.control?.(message);
    else if (message.type === 'disconnect') this.end('the customer stopped sharing');
    else if (message.type === 'keepalive' && message.t !== undefined) this.reporter.echo(message.t);
    else if (message.type === 'stream_settings')
      this.linkStats.settings = { quality: message.quality, fps: message.fps, auto: message.auto };
    else if (message.type === 'unknown' && message.name === CAPABILITIES_TYPE)
      this.agentRects = parseCapabilities(message.body).includes('rect');
  }

  private onRectChunk(datagram: Uint8Array, size: number) {
    const decoded = decodeRectChunk(datagram);
    if (!decoded.ok) return void this.invalidDatagrams++;
    this.linkStats.bytes(size);
    const done = this.rectAssembler.push(rectAsFrameChunk(decoded.value));
    if (!done) return;
    this.reporter.updates.rect(decoded.value.frameId, decoded.value.rectIndex, decoded.value.rectCount);
    if (decoded.value.rectIndex === decoded.value.rectCount - 1) this.linkStats.frameShown(decoded.value.frameId);
    this.options.events.rect?.(completeRect(decoded.value, done.jpeg));
  }

  /** Whether the agent said it sends rectangles. */
  get sendsRects(): boolean {
    return this.agentRects;
  }

  private onFrameChunk(chunk: FrameChunk, size: number) {
    this.linkStats.bytes(size);
    this.reporter.bytes(size);
    const frame = this.assembler.push(chunk);
    if (!frame) return;
    this.linkStats.frameShown(frame.frameId);
    this.reporter.frame();
    this.reporter.updates.frame(frame.frameId);
    this.options.events.frame?.(frame.jpeg, frame.frameId);
  }

  /** Clear frames only in a session made for the reference client, and never once keys were agreed. */
  private acceptsClear(): boolean {
    return this.allowUnencrypted && !this.keys.channel;
  }

  private markClearAgent() {
    if (this.clearAgent) return;
    this.clearAgent = true;
    this.options.events.security?.({ state: 'not_encrypted' });
  }

  stats(): LinkStats {
    return this.linkStats.snapshot();
  }

  // ---------------------------------------------------------------------------- to the agent

  /** Sealed when keys are agreed; in clear only to a reference client; otherwise not at all. */
  private toAgent(inner: Buffer) {
    if (!this.acked) return;
    const channel = this.keys.channel;
    if (channel) this.sendUdp(channel.sealer.seal(inner));
    else if (this.clearAgent) this.sendUdp(inner);
  }

  /** Sealed to the agent, never in clear (the clipboard, receive reports): false when there are no keys or no pinned address. */
  sendSealed(inner: Buffer): boolean {
    const channel = this.keys.channel;
    if (!this.acked || !channel) return false;
    this.sendUdp(channel.sealer.seal(inner));
    return true;
  }

  sendMouse(x: number, y: number, button: number, state: number): void {
    this.toAgent(encodeMouse({ x, y, button: button as MouseButtonCode, state: state ? 1 : 0 }));
  }

  sendKey(vk: number, down: boolean): void {
    if (vk >= 0x01 && vk <= 0xfe) this.toAgent(encodeKeyboard({ vk, state: down ? 1 : 0 }));
  }

  /** Asks for a whole frame; until the agent has answered, asks for rectangles too (either may be lost). */
  requestKeyframe(): void {
    this.askForRects(true);
    this.toAgent(encodeControl({ type: 'request_keyframe' }));
  }

  /** How long decoding a frame took (the report's mean decode time). */
  frameDecoded(ms: number): void {
    this.reporter.decoded(ms);
  }

  /** Pins the agent's quality and frame rate (it keeps them under its own ceilings). */
  setQuality(quality: number, fps: number): void {
    this.toAgent(encodeControl({ type: 'set_quality', quality, fps }));
  }

  /** Hands quality and frame rate back to the agent's controller. */
  autoQuality(): void {
    this.sendSealed(encodeControl({ type: 'auto_quality' }));
  }

  /** `capabilities` to our agent until it answers, at most once a second unless `now`. */
  private askForRects(now = false) {
    if (this.agentRects || !this.keys.channel) return;
    const at = performance.now();
    if (!now && at - this.rectsAskedAt < 1000) return;
    this.rectsAskedAt = at;
    this.toAgent(encodeCapabilities(['rect']));
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

/** Frames (or rectangles) the reassembler gave up on, for the loss figure. */
function droppedFrames(assembler: FrameReassembler): number {
  return Object.values(assembler.stats.framesDropped).reduce((a, b) => a + b, 0);
}

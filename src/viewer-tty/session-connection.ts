// The viewer's transport for one session (docs/protocol.md, docs/security.md): the viewer
// WebSocket with the login's token (joined, udp_ticket, status, the key exchange with the agent),
// the UDP pin at the relay (udp-pin.ts), sealed datagrams opened and handed to the stream
// (stream-receiver.ts), input sealed to the agent, and reconnecting when the WebSocket drops
// (signal-socket.ts). Once keys are agreed, a sealed receive report and a timestamped keepalive go
// to the agent every second (receive-report.ts), which adapts the stream. Clear frames are accepted, and input sent in
// clear, only in a session that allows the reference client and only while no key exchange has
// completed. The viewer asks the agent for rectangles (`capabilities`) until it answers.
import type { ControlMessage } from '../protocol/control-messages.js';
import {
  type MouseButtonCode,
  type SealedPacket,
  decodeDatagram,
  encodeControl,
  encodeKeyboard,
  encodeMouse,
} from '../protocol/datagram.js';
import { encodeCapabilities } from '../protocol/capabilities.js';
import { Signal, type SignalMessage } from '../protocol/signal-messages.js';
import type { TlsTrust } from '../shared/tls-trust.js';
import { sshHostKeyFingerprint } from '../protocol/ssh-host-key.js';
import { AgentKeyExchange } from './agent-keys.js';
import type { LinkStats } from './link-stats.js';
import { REPORT_INTERVAL_MS } from './receive-report.js';
import { SignalSocket } from './signal-socket.js';
import { type StreamEvents, StreamReceiver } from './stream-receiver.js';
import { UdpPin } from './udp-pin.js';

export type LinkState = 'connecting' | 'joining' | 'connected' | 'reconnecting' | 'ended';

export interface SessionConnectionEvents extends StreamEvents {
  /** Transport state; `detail` says why for reconnecting/ended. */
  state?(state: LinkState, detail?: string): void;
  /** The broker's session status: pending, active, disconnected, closed. */
  status?(status: string): void;
  /** Whether and how the stream is protected: the security code to compare, or NOT ENCRYPTED. */
  security?(security: StreamSecurity): void;
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

export class SessionConnection {
  private readonly signal: SignalSocket;
  private readonly pin: UdpPin;
  private readonly stream: StreamReceiver;
  private closed = false;
  private timers = new Set<NodeJS.Timeout>();
  private pingSentAt?: number;
  private rectsAskedAt = Number.NEGATIVE_INFINITY;
  private readonly keys: AgentKeyExchange;
  private readonly sessionCode: string;
  private ids?: { viewerId: number; sessionId: number };
  private allowUnencrypted = false;
  /** Clear frames came from a reference client in a session that allows one. */
  private clearAgent = false;
  /** Datagrams refused before the stream saw them: malformed, not for us, or not opened (forged, replayed). */
  private refused = 0;
  state: LinkState = 'connecting';

  constructor(private readonly options: SessionConnectionOptions) {
    const url = new URL(options.webSocketUrl);
    this.sessionCode = decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '');
    this.keys = new AgentKeyExchange(this.sessionCode);
    this.signal = new SignalSocket({
      ...options,
      onOpen: () => this.ping(),
      onSignal: (message) => this.onSignal(message),
      onLost: () => this.pin.forget(),
      onReconnecting: (detail) => this.setState('reconnecting', detail),
      onRefused: (why) => this.end(why),
    });
    this.pin = new UdpPin({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      helloRetryMs: options.helloRetryMs,
      keepaliveMs: options.keepaliveMs,
      onDatagram: (msg) => this.onDatagram(msg),
      onPinned: () => this.onPinned(),
      requestTicket: () => this.send(Signal.udpTicketRequest()),
      onKeepalive: () => this.ping(),
      onSilence: (detail) => this.options.events.state?.('joining', detail),
    });
    this.stream = new StreamReceiver({
      events: options.events,
      agentDisconnected: () => this.end('the customer stopped sharing'),
      framesFlowing: () => this.askForRects(),
    });
  }

  /** Datagrams dropped as malformed, not for us, or not opened (forged, replayed): never fatal, only counted. */
  get invalidDatagrams(): number {
    return this.refused + this.stream.invalid;
  }

  start(): void {
    this.signal.open();
    this.every(1000, () => this.stream.rollStats());
    this.every(REPORT_INTERVAL_MS, () => this.report());
  }

  /** A timestamped keepalive (the agent echoes it: the round trip) and the last window's report. */
  private report() {
    const report = this.stream.takeReport();
    if (!this.pin.pinned || !this.keys.channel) return;
    this.sendSealed(encodeControl({ type: 'keepalive', t: this.stream.keepaliveStamp() }));
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

  // -------------------------------------------------------------------------------- WebSocket

  private send(text: string) {
    this.signal.send(text);
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
        return void this.joinUdp(message.udp_port, message.ticket, message.relay_host);
      case 'status':
        this.options.events.status?.(message.status);
        if (message.status === 'closed') this.end('the session was closed');
        return;
      case 'pong':
        if (this.pingSentAt !== undefined) this.stream.roundTrip(Date.now() - this.pingSentAt);
        this.pingSentAt = undefined;
        return;
      case 'disconnect':
        return this.end('the broker ended the session');
    }
  }

  private ping() {
    if (!this.signal.isOpen) return;
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
      this.refused++;
      return;
    }
    this.send(Signal.viewerKey(viewerId, answer.viewerKey));
    if (!answer.fresh) return;
    this.clearAgent = false;
    this.stream.reset();
    const fingerprint = sshHostKey === undefined ? undefined : sshHostKeyFingerprint(sshHostKey);
    this.options.events.security?.({
      state: 'sealed',
      sas: answer.channel.sas,
      ...(fingerprint ? { sshHostKeyFingerprint: fingerprint } : {}),
    });
    this.requestKeyframe();
  }

  // -------------------------------------------------------------------------------------- UDP

  private async joinUdp(port: number, ticket: string, relayHost: string | undefined) {
    const failed = await this.pin.join(port, ticket, relayHost);
    if (failed) return this.signal.reconnect(failed);
    if (this.closed) return;
    if (this.state !== 'connected') this.setState('joining');
  }

  private onDatagram(msg: Buffer) {
    const decoded = decodeDatagram(msg);
    if (!decoded.ok) return void this.refused++;
    const packet = decoded.packet;
    if (packet.type === 'sealed') return this.onSealed(packet, msg.length);
    if (packet.type === 'control' && packet.message.type !== 'unknown') return this.onRelayControl(packet.message);
    if (packet.type === 'frame_chunk' && this.acceptsClear()) {
      this.markClearAgent();
      return this.stream.frameChunk(packet, msg.length);
    }
    this.refused++; // input, handshakes, or clear frames we may not accept
  }

  /** Clear messages: the relay's own, and (reference client only) the agent's screen size. */
  private onRelayControl(message: ControlMessage) {
    switch (message.type) {
      case 'viewer_ack':
        return this.pin.acknowledged(message.cookie);
      case 'viewer_ready':
        return this.pin.ready();
      case 'disconnect':
        // A broker going down for a restart says so and closes the WebSocket with 1012: that close
        // drives the reconnect. Any other disconnect from the broker ends the session.
        if (message.reason !== 'shutdown') this.end('the session was closed');
        return;
      case 'screen':
        if (this.acceptsClear()) return this.options.events.control?.(message);
        this.refused++;
        return;
    }
  }

  private onPinned() {
    this.setState('connected');
    this.requestKeyframe();
  }

  private onSealed(packet: SealedPacket, size: number) {
    const channel = this.keys.channel;
    const opened = channel && this.ids?.viewerId === packet.viewerId ? channel.opener.open(packet) : undefined;
    if (!opened?.ok) return void this.refused++;
    this.stream.sealed(opened.value, size);
  }

  /** Whether the agent said it sends rectangles. */
  get sendsRects(): boolean {
    return this.stream.sendsRects;
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
    return this.stream.stats();
  }

  // ---------------------------------------------------------------------------- to the agent

  /** Sealed when keys are agreed; in clear only to a reference client; otherwise not at all. */
  private toAgent(inner: Buffer) {
    if (!this.pin.pinned) return;
    const channel = this.keys.channel;
    if (channel) this.pin.send(channel.sealer.seal(inner));
    else if (this.clearAgent) this.pin.send(inner);
  }

  /** Sealed to the agent, never in clear (the clipboard, receive reports): false when there are no keys or no pinned address. */
  sendSealed(inner: Buffer): boolean {
    const channel = this.keys.channel;
    if (!this.pin.pinned || !channel) return false;
    this.pin.send(channel.sealer.seal(inner));
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
    this.stream.frameDecoded(ms);
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
    if (this.stream.sendsRects || !this.keys.channel) return;
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
    this.signal.close();
    this.pin.close();
  }

  /** Leaves the session (the viewer quits); the session itself stays open on the broker. */
  close(): void {
    this.shutdown();
  }
}

// The UDP relay on one session's port (docs/security.md): pins the agent by a handshake proving its
// agent secret and viewers by single-use ticket plus cookie echo, then routes sealed datagrams by the
// viewer id in their header: type 5 from the agent to that one viewer, type 6 from a viewer to the
// agent only under its own id. The relay never sees content. Clear frames and input pass only in a
// session that allows the unencrypted reference client. Anything else is dropped and counted;
// nothing from an address that is not pinned reaches a party, and no datagram can throw out of here.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import { verifyAgentHandshakeProof } from '../protocol/crypto/keys.js';
import type { ControlMessage, HandshakePacket, Packet, SealedPacket } from '../protocol/index.js';
import { decodeDatagram, encodeControl } from '../protocol/index.js';
import type { HandshakeThrottle } from './handshake-throttle.js';
import { type RelayCounters, newCounters } from './relay-counters.js';
import type { Redemption } from './relay-tickets.js';

export type { RelayCounters } from './relay-counters.js';

export interface Endpoint {
  address: string;
  port: number;
}

export interface RelayEvents {
  /** The agent was pinned (first time or from a new address); `proven` false for a plain handshake. */
  agentPinned(endpoint: Endpoint, screen: { width: number; height: number }, proven: boolean): void;
  /** Any valid datagram from the pinned agent (for liveness). */
  agentSeen(): void;
  viewerPinned(endpoint: Endpoint, viewerId: number): void;
}

export interface SessionRelayOptions {
  sessionId: number;
  sessionCode: string;
  /** The session accepts the reference client: plain handshake, clear frames and input. */
  allowUnencrypted: boolean;
  /** Consumes a viewer ticket presented on this session's port. */
  redeemTicket(ticket: string): Redemption;
  /** The session's current agent secret, if an agent has joined. */
  agentSecret(): string | undefined;
  handshakeThrottle: HandshakeThrottle;
  events: Partial<RelayEvents>;
  now?: () => number;
}

/**
 * A plain handshake (reference client) from a new address re-pins the agent (NAT rebinding) only
 * once the pinned agent has been silent this long. Agents send something at least every 5 s.
 */
export const AGENT_REPIN_SILENCE_MS = 3000;
/** A viewer_hello answered with a cookie waits this long for its viewer_confirm. */
export const PENDING_CONFIRM_MS = 30_000;

interface PendingViewer {
  viewerId: number;
  endpoint: Endpoint;
  cookie: string;
  expiresAt: number;
}

interface PinnedViewer {
  endpoint: Endpoint;
  cookie: string;
}

const key = (e: Endpoint) => `${e.address}|${e.port}`;
const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export class SessionRelay {
  readonly counters: RelayCounters = newCounters();
  private agentLastSeen = 0;
  private agent: Endpoint | undefined;
  /** The timestamp of the last accepted proven handshake: the next must be greater. */
  private lastProofTimestamp = -Infinity;
  private readonly viewers = new Map<number, PinnedViewer>();
  private readonly viewerByAddress = new Map<string, number>();
  private readonly pending = new Map<string, PendingViewer>();
  private readonly onMessage = (datagram: Buffer, from: RemoteInfo) => this.receive(datagram, from);

  constructor(
    private readonly socket: Socket,
    private readonly options: SessionRelayOptions,
  ) {
    socket.on('message', this.onMessage);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  get agentEndpoint(): Endpoint | undefined {
    return this.agent;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Forgets a viewer at once: its address, its pending hello. Nothing more goes to or from it. */
  removeViewer(viewerId: number): void {
    const pinned = this.viewers.get(viewerId);
    if (pinned) this.viewerByAddress.delete(key(pinned.endpoint));
    this.viewers.delete(viewerId);
    for (const [address, entry] of this.pending) if (entry.viewerId === viewerId) this.pending.delete(address);
  }

  /** A new agent took the session (new secret): the old one's address and proofs count no more. */
  forgetAgent(): void {
    this.agent = undefined;
    this.agentLastSeen = 0;
    this.lastProofTimestamp = -Infinity;
  }

  /** Sends a relay control message to both sides (e.g. disconnect); resolves when the datagrams are out. */
  async broadcast(message: ControlMessage): Promise<void> {
    const datagram = encodeControl(message);
    const targets = [...[...this.viewers.values()].map((v) => v.endpoint), ...(this.agent ? [this.agent] : [])];
    await Promise.all(targets.map((to) => this.send(datagram, to)));
  }

  detach(): void {
    this.socket.off('message', this.onMessage);
  }

  private receive(datagram: Buffer, from: RemoteInfo): void {
    this.counters.datagrams_in++;
    this.counters.bytes_in += datagram.length;
    const sender = { address: from.address, port: from.port };
    const decoded = decodeDatagram(datagram);
    if (!decoded.ok) {
      this.counters.dropped_malformed++;
      return;
    }
    const packet = decoded.packet;
    const senderKey = key(sender);
    if (packet.type === 'handshake') return this.handshake(packet, sender);
    if (this.agent && key(this.agent) === senderKey) return this.fromAgent(packet, datagram);
    if (packet.type === 'control' && packet.message.type === 'viewer_hello') return this.hello(packet.message.ticket, datagram, sender);
    if (packet.type === 'control' && packet.message.type === 'viewer_confirm') return this.confirm(packet.message.cookie, sender);
    const viewerId = this.viewerByAddress.get(senderKey);
    if (viewerId === undefined) {
      this.counters.dropped_unknown_source++;
      return;
    }
    this.fromViewer(viewerId, packet, datagram);
  }

  // ------------------------------------------------------------------------------------- the agent

  private handshake(packet: HandshakePacket, sender: Endpoint): void {
    const throttle = this.options.handshakeThrottle;
    if (throttle.blocked(sender.address)) {
      this.counters.handshakes_throttled++;
      return;
    }
    if (packet.session_code !== this.options.sessionCode) {
      this.counters.handshakes_wrong_code++;
      throttle.recordWrongCode(sender.address);
      return;
    }
    const proven = packet.agent_proof !== undefined;
    if (proven ? !this.acceptProof(packet, sender) : !this.acceptPlain(sender)) return;
    this.counters.handshakes_accepted++;
    this.agentLastSeen = this.now();
    // A viewer cannot turn itself into the agent (and the agent is nobody's viewer).
    const viewerId = this.viewerByAddress.get(key(sender));
    if (viewerId !== undefined) this.removeViewer(viewerId);
    this.agent = sender;
    const screen = { width: packet.screen_width, height: packet.screen_height };
    this.options.events.agentPinned?.(sender, screen, proven);
    this.options.events.agentSeen?.();
    // The reference client never sends `screen`: tell its viewers the size from its handshake.
    if (this.options.allowUnencrypted) this.toViewers(encodeControl({ type: 'screen', ...screen }));
  }

  /** A valid proof with a fresh timestamp pins or re-pins at once: only the agent holds the secret. */
  private acceptProof(packet: HandshakePacket, sender: Endpoint): boolean {
    const secret = this.options.agentSecret();
    const valid =
      secret !== undefined &&
      packet.timestamp > this.lastProofTimestamp &&
      verifyAgentHandshakeProof(secret, packet.session_code, packet.timestamp, packet.agent_proof!);
    if (!valid) {
      this.counters.handshakes_bad_proof++;
      return false;
    }
    this.lastProofTimestamp = packet.timestamp;
    if (this.agent && key(this.agent) !== key(sender)) this.counters.agent_repins++;
    return true;
  }

  /** The code alone: only the reference client's sessions, and no takeover of a streaming agent. */
  private acceptPlain(sender: Endpoint): boolean {
    if (!this.options.allowUnencrypted) {
      this.counters.handshakes_no_proof++;
      return false;
    }
    if (this.agent && key(this.agent) !== key(sender)) {
      if (this.now() - this.agentLastSeen < AGENT_REPIN_SILENCE_MS) {
        this.counters.agent_repins_refused++;
        return false;
      }
      this.counters.agent_repins++;
    }
    return true;
  }

  private fromAgent(packet: Packet, datagram: Buffer): void {
    this.agentLastSeen = this.now();
    this.options.events.agentSeen?.();
    if (packet.type === 'sealed') {
      if (packet.toAgent) this.counters.dropped_not_allowed++;
      else this.toViewer(packet, datagram);
    } else if (packet.type === 'control' && packet.message.type === 'keepalive') {
      this.counters.keepalives++;
    } else if (packet.type === 'frame_chunk' || packet.type === 'control') {
      if (!this.options.allowUnencrypted) {
        this.counters.dropped_clear++;
        return;
      }
      if (packet.type === 'frame_chunk') this.counters.frames_chunks_forwarded++;
      this.toViewers(datagram);
    } else {
      this.counters.dropped_not_allowed++;
    }
  }

  private toViewer(packet: SealedPacket, datagram: Buffer): void {
    const viewer = this.viewers.get(packet.viewerId);
    if (!viewer) {
      this.counters.dropped_no_peer++;
      return;
    }
    this.counters.sealed_forwarded++;
    this.forward(datagram, viewer.endpoint);
  }

  private toViewers(datagram: Buffer): void {
    if (this.viewers.size === 0) {
      this.counters.dropped_no_peer++;
      return;
    }
    for (const viewer of this.viewers.values()) this.forward(datagram, viewer.endpoint);
  }

  // ------------------------------------------------------------------------------------- viewers

  /** A valid ticket earns exactly one small ack with a cookie; the address is pinned only on its echo. */
  private hello(ticket: string, datagram: Buffer, sender: Endpoint): void {
    const redemption = this.options.redeemTicket(ticket);
    if (!redemption.ok) {
      if (redemption.reason === 'replayed') this.counters.tickets_replayed++;
      else this.counters.tickets_refused++;
      return;
    }
    this.prunePending();
    const cookie = randomBytes(16).toString('base64url');
    const ack = encodeControl({ type: 'viewer_ack', cookie });
    // No amplification: the answer to an unproven address is never more than 3× what it sent.
    if (ack.length > 3 * datagram.length) return;
    this.pending.set(key(sender), { viewerId: redemption.viewerId, endpoint: sender, cookie, expiresAt: this.now() + PENDING_CONFIRM_MS });
    void this.send(ack, sender);
  }

  /** The cookie came back from the address it was sent to: that address is the viewer's now. */
  private confirm(cookie: string, sender: Endpoint): void {
    const senderKey = key(sender);
    const pending = this.pending.get(senderKey);
    if (pending && pending.expiresAt > this.now() && sameText(pending.cookie, cookie)) {
      this.pending.delete(senderKey);
      this.pinViewer(pending.viewerId, sender, cookie);
      this.options.events.viewerPinned?.(sender, pending.viewerId);
    } else {
      const pinnedId = this.viewerByAddress.get(senderKey);
      const pinned = pinnedId === undefined ? undefined : this.viewers.get(pinnedId);
      // A repeated confirm (the ready was lost) from a proven address is answered again.
      if (!pinned || !sameText(pinned.cookie, cookie)) {
        this.counters.confirms_refused++;
        return;
      }
    }
    void this.send(encodeControl({ type: 'viewer_ready' }), sender);
  }

  private pinViewer(viewerId: number, endpoint: Endpoint, cookie: string): void {
    this.removeViewer(viewerId);
    const other = this.viewerByAddress.get(key(endpoint));
    if (other !== undefined) this.removeViewer(other);
    this.viewers.set(viewerId, { endpoint, cookie });
    this.viewerByAddress.set(key(endpoint), viewerId);
  }

  private prunePending(): void {
    const now = this.now();
    for (const [address, entry] of this.pending) if (entry.expiresAt <= now) this.pending.delete(address);
  }

  private fromViewer(viewerId: number, packet: Packet, datagram: Buffer): void {
    if (packet.type === 'sealed') {
      if (!packet.toAgent) this.counters.dropped_not_allowed++;
      else if (packet.viewerId !== viewerId) this.counters.dropped_wrong_viewer++;
      else this.toAgent(datagram, 'sealed');
    } else if (packet.type === 'control' && packet.message.type === 'keepalive') {
      this.counters.keepalives++;
    } else if (packet.type === 'mouse' || packet.type === 'keyboard' || packet.type === 'control') {
      if (this.options.allowUnencrypted) this.toAgent(datagram, packet.type === 'control' ? 'control' : 'input');
      else this.counters.dropped_clear++;
    } else {
      this.counters.dropped_not_allowed++;
    }
  }

  private toAgent(datagram: Buffer, kind: 'sealed' | 'input' | 'control'): void {
    if (!this.agent) {
      this.counters.dropped_no_peer++;
      return;
    }
    if (kind === 'sealed') this.counters.sealed_forwarded++;
    else if (kind === 'input') this.counters.input_forwarded++;
    this.forward(datagram, this.agent);
  }

  // ------------------------------------------------------------------------------------- sending

  /** The hot path: no promise per datagram. */
  private forward(datagram: Buffer, to: Endpoint): void {
    try {
      this.socket.send(datagram, to.port, to.address, this.afterForward);
      this.counters.datagrams_out++;
      this.counters.bytes_out += datagram.length;
    } catch {
      // The socket was closed under us (session closing).
    }
  }

  private readonly afterForward = (): void => {};

  private send(datagram: Buffer, to: Endpoint): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.send(datagram, to.port, to.address, (err) => {
          if (!err) {
            this.counters.datagrams_out++;
            this.counters.bytes_out += datagram.length;
          }
          resolve();
        });
      } catch {
        // The socket was closed under us (session closing): nothing to deliver to.
        resolve();
      }
    });
  }
}

// The UDP relay on one session's port (DESIGN.md "Roles on the session's UDP port"): pins the agent
// by handshake and viewers by ticket, forwards frames and agent control to viewers and input and
// viewer control to the agent, byte for byte. Anything else is dropped and counted; nothing from
// an address that is not pinned ever reaches the agent, and no datagram can throw out of here.
import { randomBytes } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import { decodeDatagram, encodeControl } from '../protocol/index.js';
import type { ControlMessage } from '../protocol/index.js';

export interface Endpoint {
  address: string;
  port: number;
}

export interface RelayCounters {
  datagrams_in: number;
  datagrams_out: number;
  bytes_in: number;
  bytes_out: number;
  frames_chunks_forwarded: number;
  input_forwarded: number;
  dropped_malformed: number;
  dropped_unknown_source: number;
  dropped_not_allowed: number;
  dropped_no_peer: number;
  agent_repins: number;
  agent_repins_refused: number;
}

export interface RelayEvents {
  /** The agent was pinned (first time or from a new address). */
  agentPinned(endpoint: Endpoint, screen: { width: number; height: number }): void;
  /** Any valid datagram from the pinned agent (for liveness). */
  agentSeen(): void;
  viewerPinned(endpoint: Endpoint, userId: number): void;
}

export interface SessionRelayOptions {
  sessionId: number;
  sessionCode: string;
  /** The user a viewer ticket belongs to, when valid for this session. */
  redeemTicket(ticket: string): { userId: number } | undefined;
  events: Partial<RelayEvents>;
  /** An agent address remembered from before a restart. */
  agent?: Endpoint;
  now?: () => number;
}

/**
 * A handshake from a new address re-pins the agent (NAT rebinding) only once the pinned agent has
 * been silent this long: while it streams, nobody who merely knows the code can take its place.
 * Agents send something at least every 5 s (ours every 2 s).
 */
export const AGENT_REPIN_SILENCE_MS = 3000;

const key = (e: Endpoint) => `${e.address}|${e.port}`;

export class SessionRelay {
  readonly counters: RelayCounters = {
    datagrams_in: 0,
    datagrams_out: 0,
    bytes_in: 0,
    bytes_out: 0,
    frames_chunks_forwarded: 0,
    input_forwarded: 0,
    dropped_malformed: 0,
    dropped_unknown_source: 0,
    dropped_not_allowed: 0,
    dropped_no_peer: 0,
    agent_repins: 0,
    agent_repins_refused: 0,
  };
  private agentLastSeen = 0;
  private agent: Endpoint | undefined;
  private readonly viewers = new Map<string, Endpoint>();
  private readonly onMessage = (datagram: Buffer, from: RemoteInfo) => this.receive(datagram, from);

  constructor(
    private readonly socket: Socket,
    private readonly options: SessionRelayOptions,
  ) {
    this.agent = options.agent;
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

  /** Sends a control message to both sides (e.g. disconnect); resolves when the datagrams are out. */
  async broadcast(message: ControlMessage): Promise<void> {
    const datagram = encodeControl(message);
    const targets = [...this.viewers.values(), ...(this.agent ? [this.agent] : [])];
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

    if (packet.type === 'handshake') {
      if (packet.session_code !== this.options.sessionCode) {
        this.counters.dropped_not_allowed++;
        return;
      }
      const now = this.now();
      if (this.agent && key(this.agent) !== senderKey) {
        if (now - this.agentLastSeen < AGENT_REPIN_SILENCE_MS) {
          this.counters.agent_repins_refused++;
          return;
        }
        this.counters.agent_repins++;
      }
      this.agentLastSeen = now;
      // A viewer cannot turn itself into the agent.
      this.viewers.delete(senderKey);
      this.agent = sender;
      this.options.events.agentPinned?.(sender, { width: packet.screen_width, height: packet.screen_height });
      this.options.events.agentSeen?.();
      // The reference client never sends `screen`: tell viewers the size from its handshake.
      this.toViewers(encodeControl({ type: 'screen', width: packet.screen_width, height: packet.screen_height }));
      return;
    }

    if (this.agent && key(this.agent) === senderKey) {
      this.agentLastSeen = this.now();
      this.options.events.agentSeen?.();
      if (packet.type === 'frame_chunk') {
        this.counters.frames_chunks_forwarded++;
        this.toViewers(datagram);
      } else if (packet.type === 'control') {
        this.toViewers(datagram);
      } else {
        this.counters.dropped_not_allowed++;
      }
      return;
    }

    if (packet.type === 'control' && packet.message.type === 'viewer_hello') {
      const holder = this.options.redeemTicket(packet.message.ticket);
      if (!holder) {
        this.counters.dropped_unknown_source++;
        return;
      }
      if (!this.viewers.has(senderKey)) {
        this.viewers.set(senderKey, sender);
        this.options.events.viewerPinned?.(sender, holder.userId);
      }
      void this.send(encodeControl({ type: 'viewer_ack', cookie: randomBytes(16).toString('base64url') }), sender);
      return;
    }

    if (!this.viewers.has(senderKey)) {
      this.counters.dropped_unknown_source++;
      return;
    }
    if (packet.type === 'mouse' || packet.type === 'keyboard' || packet.type === 'control') {
      if (!this.agent) {
        this.counters.dropped_no_peer++;
        return;
      }
      if (packet.type !== 'control') this.counters.input_forwarded++;
      this.forward(datagram, this.agent);
      return;
    }
    this.counters.dropped_not_allowed++;
  }

  private toViewers(datagram: Buffer): void {
    if (this.viewers.size === 0) {
      this.counters.dropped_no_peer++;
      return;
    }
    for (const viewer of this.viewers.values()) this.forward(datagram, viewer);
  }

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

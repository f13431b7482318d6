// The viewers the customer allowed, each with its own keys: what the screen stream seals to them
// and opens from them. A datagram that does not open (forged, altered, replayed, for a viewer not
// allowed, or sent in clear where only sealed is obeyed) is counted, never acted on.
import type { Packet } from '../../protocol/index.js';
import type { AgentPacket } from './udp-link.js';
import type { SealedPeer } from './viewer-keys.js';

export interface SealingStats {
  /** Sealed datagrams from a viewer that did not open (forged, altered, replayed): see Opener stats. */
  refused: number;
  /** Clear input or party control messages: never obeyed, only counted. */
  clearDropped: number;
  /** Sealed datagrams for a viewer id the customer has not allowed. */
  unknownViewer: number;
}

/** A datagram a viewer sealed, opened: its sender and the inner datagram. */
export interface OpenedDatagram {
  peer: SealedPeer;
  plain: Buffer;
}

export class SealedViewers {
  private readonly peers = new Map<number, SealedPeer>();
  readonly stats: SealingStats = { refused: 0, clearDropped: 0, unknownViewer: 0 };

  add(peer: SealedPeer): void {
    this.peers.set(peer.viewerId, peer);
  }

  remove(viewerId: number): void {
    this.peers.delete(viewerId);
  }

  get size(): number {
    return this.peers.size;
  }

  ids(): number[] {
    return [...this.peers.keys()];
  }

  all(): IterableIterator<SealedPeer> {
    return this.peers.values();
  }

  /** Each viewer has its own keys: every datagram is sealed once per viewer. */
  sealForEach(datagrams: Buffer[]): Buffer[] {
    const sealed: Buffer[] = [];
    for (const peer of this.peers.values()) for (const datagram of datagrams) sealed.push(peer.sealer.seal(datagram));
    return sealed;
  }

  /** Sealed for one viewer; empty when it is not (or no longer) allowed. */
  sealFor(viewerId: number, datagrams: Buffer[]): Buffer[] {
    const peer = this.peers.get(viewerId);
    return peer ? datagrams.map((d) => peer.sealer.seal(d)) : [];
  }

  /** What an allowed viewer sealed, opened; undefined (and counted) for anything else. */
  open(packet: AgentPacket): OpenedDatagram | undefined {
    if (packet.type === 'sealed') return this.openSealed(packet);
    // In clear only the relay's own messages count; input and party control must come sealed.
    if (packet.type === 'control' && (packet.message.type === 'keepalive' || packet.message.type === 'viewer_ack')) return undefined;
    this.stats.clearDropped++;
    return undefined;
  }

  /** Datagrams refused for any reason. */
  get refused(): number {
    return this.stats.refused + this.stats.clearDropped + this.stats.unknownViewer;
  }

  private openSealed(packet: Extract<Packet, { type: 'sealed' }>): OpenedDatagram | undefined {
    const peer = this.peers.get(packet.viewerId);
    if (!peer) {
      this.stats.unknownViewer++;
      return undefined;
    }
    const opened = peer.opener.open(packet);
    if (!opened.ok) {
      this.stats.refused++;
      return undefined;
    }
    return { peer, plain: opened.value };
  }
}

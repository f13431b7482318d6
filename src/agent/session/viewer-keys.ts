// The agent's half of the key exchange with each viewer (docs/security.md): a viewer commits to its
// key, the agent answers with a fresh key pair of its own for that viewer, the viewer reveals its
// key, the agent checks it against the commitment and derives the pair's keys and security code.
// A new commitment for a viewer id starts over; the same one again is answered with the same key
// (the broker re-announces viewers when the agent reconnects).
import {
  type EphemeralKeyPair,
  type Opener,
  type Sealer,
  decodeKey,
  derivePairKeys,
  encodeKey,
  generateEphemeralKeyPair,
  matchesCommitment,
  pairChannels,
} from '../../protocol/index.js';

/** A viewer the agent shares keys with: what it seals to it and opens from it. */
export interface SealedPeer {
  viewerId: number;
  /** The security code both people compare, e.g. "482 019". */
  sas: string;
  sealer: Sealer;
  opener: Opener;
}

interface Exchange {
  commitment: string;
  keyPair: EphemeralKeyPair;
  peer?: SealedPeer;
  /** The viewer key the peer was derived from (a repeat of it is not a new exchange). */
  viewerKey?: string;
}

export type CompleteResult = { ok: true; peer: SealedPeer; repeated: boolean } | { ok: false; reason: string };

export class ViewerKeys {
  private readonly exchanges = new Map<number, Exchange>();

  /** `sshHostKey`: with --allow-shell, the host key line sent in every agent_key and bound into each transcript. */
  constructor(
    private readonly sessionCode: string,
    private readonly sshHostKey?: string,
  ) {}

  /** The agent key to send for this viewer's commitment (new pair unless the commitment is unchanged). */
  offer(viewerId: number, commitment: string): string {
    const known = this.exchanges.get(viewerId);
    if (known?.commitment === commitment) return encodeKey(known.keyPair.publicKey);
    const exchange = { commitment, keyPair: generateEphemeralKeyPair() };
    this.exchanges.set(viewerId, exchange);
    return encodeKey(exchange.keyPair.publicKey);
  }

  /** The viewer revealed its key: the sealed peer, or why the key is refused. */
  complete(viewerId: number, viewerKeyText: string, sessionId: number): CompleteResult {
    const exchange = this.exchanges.get(viewerId);
    if (!exchange) return { ok: false, reason: 'a key for a viewer that never committed to one' };
    if (exchange.peer) {
      return exchange.viewerKey === viewerKeyText
        ? { ok: true, peer: exchange.peer, repeated: true }
        : { ok: false, reason: 'a second, different key for the same exchange' };
    }
    const viewerKey = decodeKey(viewerKeyText);
    if (!viewerKey || !matchesCommitment(viewerKey, exchange.commitment)) {
      return { ok: false, reason: 'a key that does not match what the viewer committed to' };
    }
    try {
      const keys = derivePairKeys(exchange.keyPair, viewerKey, {
        sessionCode: this.sessionCode,
        sessionId,
        viewerId,
        agentPublicKey: exchange.keyPair.publicKey,
        viewerPublicKey: viewerKey,
        ...(this.sshHostKey === undefined ? {} : { sshHostKey: this.sshHostKey }),
      });
      const { sealer, opener } = pairChannels('agent', keys, viewerId);
      exchange.peer = { viewerId, sas: keys.sas, sealer, opener };
      exchange.viewerKey = viewerKeyText;
      return { ok: true, peer: exchange.peer, repeated: false };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  peer(viewerId: number): SealedPeer | undefined {
    return this.exchanges.get(viewerId)?.peer;
  }

  forget(viewerId: number): void {
    this.exchanges.delete(viewerId);
  }

  /** A new agent identity (the broker gave this agent a fresh secret): every exchange starts over. */
  forgetAll(): void {
    this.exchanges.clear();
  }
}

// The viewer's half of the key exchange with the customer's agent (docs/security.md): commit to a
// fresh key first, reveal it only in answer to an agent key, and never reveal it to a second,
// different agent key (that is what a broker grinding for matching security codes would need).
import {
  type EphemeralKeyPair,
  type Opener,
  type Sealer,
  decodeKey,
  derivePairKeys,
  encodeKey,
  generateEphemeralKeyPair,
  keyCommitment,
} from '../protocol/index.js';
import { pairChannels } from '../protocol/index.js';

export interface AgentChannel {
  sas: string;
  /** The agent's SSH host key line (agents with --allow-shell), covered by the security code. */
  sshHostKey?: string;
  sealer: Sealer;
  opener: Opener;
}

export type AnswerResult = { ok: true; viewerKey: string; channel: AgentChannel; fresh: boolean } | { ok: false; reason: string };

export class AgentKeyExchange {
  private keyPair: EphemeralKeyPair = generateEphemeralKeyPair();
  private answered: { agentKey: string; channel: AgentChannel } | undefined;

  constructor(private readonly sessionCode: string) {}

  /** Starts a new exchange with a fresh key pair; returns the commitment to send. */
  restart(): string {
    this.keyPair = generateEphemeralKeyPair();
    this.answered = undefined;
    return keyCommitment(this.keyPair.publicKey);
  }

  /** The sealed channel to the agent, once the exchange completed. */
  get channel(): AgentChannel | undefined {
    return this.answered?.channel;
  }

  /** Answers the agent's key with ours and derives the pair's keys. */
  answer(agentKeyText: string, ids: { viewerId: number; sessionId: number }, sshHostKey?: string): AnswerResult {
    const viewerKey = encodeKey(this.keyPair.publicKey);
    if (this.answered) {
      return this.answered.agentKey === agentKeyText && this.answered.channel.sshHostKey === sshHostKey
        ? { ok: true, viewerKey, channel: this.answered.channel, fresh: false }
        : { ok: false, reason: 'a second, different agent key or host key in one exchange (ignored)' };
    }
    const agentKey = decodeKey(agentKeyText);
    if (!agentKey) return { ok: false, reason: 'an agent key that is not 32 bytes' };
    try {
      const keys = derivePairKeys(this.keyPair, agentKey, {
        sessionCode: this.sessionCode,
        sessionId: ids.sessionId,
        viewerId: ids.viewerId,
        agentPublicKey: agentKey,
        viewerPublicKey: this.keyPair.publicKey,
        ...(sshHostKey === undefined ? {} : { sshHostKey }),
      });
      const { sealer, opener } = pairChannels('viewer', keys, ids.viewerId);
      this.answered = {
        agentKey: agentKeyText,
        channel: { sas: keys.sas, sealer, opener, ...(sshHostKey === undefined ? {} : { sshHostKey }) },
      };
      return { ok: true, viewerKey, channel: this.answered.channel, fresh: true };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }
}

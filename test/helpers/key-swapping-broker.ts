// A broker in the middle, played by a test: it sits between the customer's agent and the real
// broker, forwards HTTP as it is and the agent's WebSocket to the broker's /ws/session/CODE, but
// substitutes its own keys in the key exchange (docs/security.md): toward the agent the viewer's
// commitment and later its key become M1's; toward the viewer the agent's key becomes M2's. UDP is
// not touched: the agent sends it to the real broker's session port.
import { encodeKey, generateEphemeralKeyPair, keyCommitment } from '../../src/protocol/index.js';
import { startRelayProxy } from './relay-proxy.js';

export interface KeySwappingBroker {
  url: string;
  /** How many key-exchange messages it rewrote, by kind. */
  swapped: { commitments: number; viewerKeys: number; agentKeys: number };
  stop(): Promise<void>;
}

const AGENT_SECRET_HEADER = 'x-rac-agent-secret';

export async function startKeySwappingBroker(brokerUrl: string): Promise<KeySwappingBroker> {
  const towardAgent = generateEphemeralKeyPair(); // M1
  const towardViewer = generateEphemeralKeyPair(); // M2
  const swapped = { commitments: 0, viewerKeys: 0, agentKeys: 0 };
  const rewrite = {
    /** broker → agent */
    down(message: Record<string, unknown>): void {
      if (message.type === 'viewer') {
        message.commitment = keyCommitment(towardAgent.publicKey);
        swapped.commitments++;
      } else if (message.type === 'viewer_key') {
        message.public_key = encodeKey(towardAgent.publicKey);
        swapped.viewerKeys++;
      }
    },
    /** agent → broker */
    up(message: Record<string, unknown>): void {
      if (message.type === 'agent_key') {
        message.public_key = encodeKey(towardViewer.publicKey);
        swapped.agentKeys++;
      }
    },
  };

  const proxy = await startRelayProxy(brokerUrl, {
    forwardHeaders: [AGENT_SECRET_HEADER],
    up: rewritten(rewrite.up),
    down: rewritten(rewrite.down),
  });
  return { url: proxy.url, swapped, stop: () => proxy.stop() };
}

/** A JSON message rewritten in place, passed on re-serialised. */
function rewritten(rewrite: (message: Record<string, unknown>) => void): (text: string) => string {
  return (text) => {
    const message = JSON.parse(text) as Record<string, unknown>;
    rewrite(message);
    return JSON.stringify(message);
  };
}

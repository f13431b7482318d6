// A broker in the middle, played by a test: it sits between the customer's agent and the real
// broker, forwards HTTP as it is and the agent's WebSocket to the broker's /ws/session/CODE, but
// substitutes its own keys in the key exchange (docs/security.md): toward the agent the viewer's
// commitment and later its key become M1's; toward the viewer the agent's key becomes M2's. UDP is
// not touched: the agent sends it to the real broker's session port.
import { type IncomingMessage, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { encodeKey, generateEphemeralKeyPair, keyCommitment } from '../../src/protocol/index.js';

export interface KeySwappingBroker {
  url: string;
  /** How many key-exchange messages it rewrote, by kind. */
  swapped: { commitments: number; viewerKeys: number; agentKeys: number };
  stop(): Promise<void>;
}

const AGENT_SECRET_HEADER = 'x-rac-agent-secret';

export async function startKeySwappingBroker(brokerUrl: string): Promise<KeySwappingBroker> {
  const broker = new URL(brokerUrl);
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

  const server = createServer((req, res) => {
    const upstream = request(
      { host: broker.hostname, port: broker.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const sockets = new WebSocketServer({ noServer: true });
  const pairs = new Set<WebSocket>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.handleUpgrade(req, socket, head, (agent) => {
      const secret = req.headers[AGENT_SECRET_HEADER];
      const headers = typeof secret === 'string' ? { [AGENT_SECRET_HEADER]: secret } : undefined;
      const upstream = new WebSocket(`ws://${broker.host}${req.url}`, { headers });
      pairs.add(agent).add(upstream);
      splice(agent, upstream, rewrite.up);
      splice(upstream, agent, rewrite.down);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    swapped,
    async stop() {
      for (const ws of pairs) ws.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Passes `from`'s text messages to `to` (held until `to` is open), rewritten; a close closes both. */
function splice(from: WebSocket, to: WebSocket, rewrite: (message: Record<string, unknown>) => void): void {
  const held: string[] = [];
  const deliver = (text: string) => (to.readyState === WebSocket.OPEN ? to.send(text) : held.push(text));
  to.on('open', () => {
    for (const text of held.splice(0)) to.send(text);
  });
  from.on('message', (data, isBinary) => {
    if (isBinary) return;
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    rewrite(message);
    deliver(JSON.stringify(message));
  });
  from.on('error', () => undefined);
  from.on('close', (code) => {
    const closable = code >= 3000 && code <= 4999 ? code : 1000;
    if (to.readyState === WebSocket.OPEN) to.close(closable);
    else if (to.readyState === WebSocket.CONNECTING) to.terminate();
  });
}

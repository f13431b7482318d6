// A bad network between a viewer and the real broker, played by a test: it forwards HTTP and the
// viewer's WebSocket to the broker as they are (relay-proxy.ts), except that each `udp_ticket` names
// the link's own UDP port instead of the session's; the UDP it receives there goes on to the
// session's port and back, each datagram (both ways) delayed by `delayMs` and dropped with
// probability `loss`, from a seeded generator so a run can be repeated. The agent talks to the
// broker directly.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { startRelayProxy } from './relay-proxy.js';

export interface LossyLink {
  /** The broker's URL as the viewer should use it (HTTP and WebSocket go through the link). */
  url: string;
  /** Share of datagrams (0..1) dropped, each way. */
  loss: number;
  /** Milliseconds each datagram is held, each way. */
  delayMs: number;
  counts: { forwarded: number; dropped: number };
  stop(): Promise<void>;
}

export async function startLossyLink(brokerUrl: string, options: { seed?: number } = {}): Promise<LossyLink> {
  const random = seededRandom(options.seed ?? 14);
  const front = await boundSocket(); // the viewer's side
  const back = await boundSocket(); // toward the broker's session port
  let viewer: RemoteInfo | undefined;
  let sessionPort: number | undefined;
  const link: LossyLink = {
    url: '',
    loss: 0,
    delayMs: 0,
    counts: { forwarded: 0, dropped: 0 },
    stop: async () => undefined,
  };
  const pass = (socket: Socket, datagram: Buffer, port: number) => {
    if (random() < link.loss) {
      link.counts.dropped++;
      return;
    }
    link.counts.forwarded++;
    const send = () => socket.send(datagram, port, '127.0.0.1', () => undefined);
    if (link.delayMs > 0) setTimeout(send, link.delayMs);
    else send();
  };
  front.on('message', (datagram, from) => {
    viewer = from;
    if (sessionPort !== undefined) pass(back, datagram, sessionPort);
  });
  back.on('message', (datagram) => {
    if (viewer) pass(front, datagram, viewer.port);
  });

  const frontPort = (front.address() as AddressInfo).port;
  const proxy = await startRelayProxy(brokerUrl, {
    forwardHeaders: ['authorization'],
    down: (text) => {
      const message = JSON.parse(text) as Record<string, unknown>;
      if (message.type !== 'udp_ticket') return text;
      sessionPort = message.udp_port as number;
      return JSON.stringify({ ...message, udp_port: frontPort });
    },
  });
  link.url = proxy.url;
  link.stop = async () => {
    await proxy.stop();
    front.close();
    back.close();
  };
  return link;
}

function boundSocket(): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024, sendBufferSize: 8 * 1024 * 1024 });
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

/** mulberry32: a small seeded generator, so a lossy run can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

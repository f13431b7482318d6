// The customer's agent as a test plays it, speaking the real sealed protocol with the agent's own
// key-exchange code: the agent WebSocket (agent_welcome → secret; viewer → agent_key; viewer_key →
// keys), a UDP handshake proven with the secret, then frames sealed to every viewer and the
// viewers' sealed input opened. For viewer tests that need a picture without a desktop.
import {
  type Packet,
  SEALED_DEFAULT_CHUNK_SIZE,
  agentHandshakeProof,
  chunkFrame,
  decodeDatagram,
  dotnetTicks,
  encodeControl,
  encodeHandshake,
} from '../../src/protocol/index.js';
import { AGENT_SECRET_HEADER } from '../../src/agent/session/broker-link.js';
import { ViewerKeys, type SealedPeer } from '../../src/agent/session/viewer-keys.js';
import { Inbox, type SignalPeer, type UdpPeer, openSignal, openUdp } from './session-peers.js';

export interface SealedAgent {
  signal: SignalPeer;
  udp: UdpPeer;
  /** Viewers whose key exchange completed, by viewer id. */
  peers: Map<number, SealedPeer>;
  /** Resolves with the next viewer whose key exchange completes. */
  nextViewer(): Promise<SealedPeer>;
  /** What viewers sent, opened (mouse, keyboard, control). */
  received: Inbox<Packet>;
  /** Sealed datagrams from viewers that did not open. */
  refused(): number;
  /** One frame, chunked into sealed datagrams of at most 1200 bytes, to every keyed viewer. */
  sendFrame(jpeg: Buffer): Promise<void>;
  /** The UDP handshake again, proven with the secret (a restarted broker pins it again). */
  handshake(): Promise<void>;
  /**
   * Comes back after a broker restart: the agent WebSocket again, with the agent secret (a resume).
   * `udpPort`: the session's port from now on (another node took the session over).
   */
  resume(brokerUrl: string, udpPort?: number): Promise<void>;
  close(): void;
}

export async function startSealedAgent(
  brokerUrl: string,
  session: { session_code: string; udp_port: number },
  screen: { width: number; height: number },
): Promise<SealedAgent> {
  let signal = await openSignal(brokerUrl, session.session_code);
  const welcome = (await signal.messages.next((m) => m.type === 'agent_welcome', undefined, 'agent_welcome')) as {
    session_id: number;
    agent_secret: string;
  };
  const udp = await openUdp();
  const keys = new ViewerKeys(session.session_code);
  const peers = new Map<number, SealedPeer>();
  const keyed = new Inbox<SealedPeer>();
  const received = new Inbox<Packet>();
  let refused = 0;
  let relayPort = session.udp_port;
  const toPort = (datagram: Buffer) => udp.send(datagram, relayPort);

  const onSignal = (data: unknown) => {
    const message = JSON.parse(String(data)) as { type: string; viewer_id: number; commitment: string; public_key: string };
    if (message.type === 'viewer')
      signal.send({ type: 'agent_key', viewer_id: message.viewer_id, public_key: keys.offer(message.viewer_id, message.commitment) });
    if (message.type === 'viewer_left') peers.delete(message.viewer_id);
    if (message.type !== 'viewer_key') return;
    const done = keys.complete(message.viewer_id, message.public_key, welcome.session_id);
    if (!done.ok || done.repeated) return;
    peers.set(message.viewer_id, done.peer);
    void toPort(done.peer.sealer.seal(encodeControl({ type: 'screen', ...screen })));
    keyed.push(done.peer);
  };
  signal.ws.on('message', onSignal);
  udp.socket.on('message', (datagram) => {
    const decoded = decodeDatagram(datagram);
    if (!decoded.ok || decoded.packet.type !== 'sealed') return;
    const opened = peers.get(decoded.packet.viewerId)?.opener.open(decoded.packet);
    const inner = opened?.ok ? decodeDatagram(opened.value) : undefined;
    if (inner?.ok) received.push(inner.packet);
    else refused++;
  });

  let lastHandshake = 0;
  const handshake = () => {
    const timestamp = (lastHandshake = Math.max(Date.now(), lastHandshake + 1));
    return toPort(
      encodeHandshake({
        session_code: session.session_code,
        screen_width: screen.width,
        screen_height: screen.height,
        timestamp,
        agent_proof: agentHandshakeProof(welcome.agent_secret, session.session_code, timestamp),
      }),
    );
  };
  await handshake();
  let lastFrameId = 0n;
  return {
    get signal() {
      return signal;
    },
    udp,
    peers,
    nextViewer: () => keyed.next(() => true, undefined, 'a viewer to complete the key exchange'),
    received,
    refused: () => refused,
    async sendFrame(jpeg) {
      const now = dotnetTicks(new Date(), 'utc');
      lastFrameId = now > lastFrameId ? now : lastFrameId + 1n;
      const chunks = chunkFrame(jpeg, lastFrameId, SEALED_DEFAULT_CHUNK_SIZE);
      await Promise.all([...peers.values()].flatMap((peer) => chunks.map((chunk) => toPort(peer.sealer.seal(chunk)))));
    },
    handshake,
    async resume(url, udpPort = relayPort) {
      relayPort = udpPort;
      signal.ws.terminate();
      signal = await openSignal(url, session.session_code, undefined, { [AGENT_SECRET_HEADER]: welcome.agent_secret });
      signal.ws.on('message', onSignal);
      await signal.messages.next((m) => m.type === 'agent_welcome' && m.resumed === true, undefined, 'a resumed agent_welcome');
    },
    close() {
      signal.ws.close();
      udp.close();
    },
  };
}

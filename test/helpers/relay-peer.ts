// A test peer that plays the broker AND the customer's agent for ONE viewer (docs/protocol.md,
// docs/security.md): GET /api/sessions; the viewer WebSocket (Bearer token → joined, udp_ticket,
// status; key_commit, viewer_key, udp_ticket_request); the session's UDP port (viewer_hello →
// one viewer_ack with a cookie, viewer_confirm → viewer_ready). The agent half runs the agent's
// real key-exchange code (ViewerKeys), so frames go out sealed (type 5) and the viewer's sealed
// input (type 6) is opened. With `agent: 'clear'` it is the reference client instead: it never
// answers a key_commit and streams clear type-1 frames. The end-to-end tests run the real broker
// and agent; this peer is for what they cannot be made to do on cue: drop the WebSocket or a
// datagram, refuse, send garbage, tampered or replayed datagrams, a clear frame in a sealed session.
import { PATIENCE_MS } from './patience.js';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  type ControlMessage,
  type Packet,
  SEALED_OVERHEAD_BYTES,
  type SessionStatus,
  type SignalMessage,
  Signal,
  chunkFrame,
  decodeDatagram,
  encodeControl,
  parseSignalMessage,
  ticksFromUnixMs,
} from '../../src/protocol/index.js';
import { ViewerKeys } from '../../src/agent/session/viewer-keys.js';

export const PEER_TOKEN = 'test-token-for-the-relay-peer';

export interface RelayPeerOptions {
  code?: string;
  customerName?: string;
  status?: SessionStatus;
  /** 'sealed' (default): our agent, with the real key exchange; 'clear': the reference client. */
  agent?: 'sealed' | 'clear';
  /** `allow_unencrypted_agent` in `joined`; by default true for a clear agent, false for a sealed one. */
  allowUnencrypted?: boolean;
  viewerId?: number;
  sessionId?: number;
  /** This many valid viewer_hellos redeem their ticket but their viewer_ack is lost. */
  loseAcks?: number;
  /** The first viewer_ready for each cookie is lost (the address is pinned all the same). */
  loseFirstReady?: boolean;
}

/** A packet the viewer sent from its pinned address: sealed ones opened, with `sealed` saying which. */
export type ReceivedPacket = Packet & { sealed: boolean };

export interface RelayPeer {
  url: string;
  code: string;
  viewerId: number;
  sessionId: number;
  /** What the viewer sent over UDP from its pinned address, in order. */
  received: ReceivedPacket[];
  /** Sealed datagrams from the viewer that did not open (no keys, forged, replayed). */
  refused: number;
  tickets: string[];
  /** The ticket of the hello whose cookie pinned the viewer's address last. */
  pinnedTicket?: string;
  ticketRequests: number;
  /** The cookie of every viewer_confirm received, in order. */
  confirms: string[];
  /** The commitment of every key_commit received, in order. */
  keyCommits: string[];
  /** WebSocket connections the viewer opened so far. */
  connections: number;
  viewerAddress?: RemoteInfo;
  /** The security code of the agent half's current exchange, once the viewer revealed its key. */
  sas(): string | undefined;
  /** Our agent seals it (and sends nothing before keys are agreed); the reference client sends it clear. */
  sendFrame(jpeg: Uint8Array, maxDatagramBytes?: number): void;
  /** Clear type-1 datagrams whatever the agent is (a downgrade attempt in a sealed session). */
  sendClearFrame(jpeg: Uint8Array, maxDatagramBytes?: number): void;
  /** One inner datagram sealed with the agent's current keys (throws before they are agreed). */
  seal(inner: Buffer): Buffer;
  sendRaw(datagram: Buffer): void;
  /** The relay's own control messages (viewer_ack, disconnect), always clear. */
  sendControl(message: ControlMessage): void;
  /** The agent's control messages (screen): sealed or clear as sendFrame. */
  sendAgentControl(message: ControlMessage): void;
  setStatus(status: SessionStatus): void;
  /** `agent_joined`; a new agent (resumed false) has fresh keys and starts every exchange over. */
  announceAgent(resumed: boolean): void;
  /** Drops the viewer's WebSocket (as a broker restart would), or closes it with a code. */
  dropWebSocket(code?: number, reason?: string): void;
  waitFor(what: string, check: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

const addressKey = (r: RemoteInfo) => `${r.address}:${r.port}`;

export async function startRelayPeer(options: RelayPeerOptions = {}): Promise<RelayPeer> {
  const code = options.code ?? '482916573';
  const sealedAgent = (options.agent ?? 'sealed') === 'sealed';
  const allowUnencrypted = options.allowUnencrypted ?? !sealedAgent;
  let status: SessionStatus = options.status ?? 'active';
  let lostAcks = options.loseAcks ?? 0;
  const udp: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const udpPort = udp.address().port;
  const sockets = new Set<WebSocket>();
  const agentKeys = new ViewerKeys(code);
  /** Tickets not yet redeemed, with the WebSocket they belong to (they die with it). */
  const openTickets = new Map<string, WebSocket>();
  /** Cookies sent in a viewer_ack and not yet echoed, by address. */
  const pending = new Map<string, { cookie: string; ticket: string }>();
  let pinnedCookie: string | undefined;
  const readiesSent = new Set<string>();
  let frameMs = Date.now();

  const agentPeer = () => agentKeys.peer(peer.viewerId);
  const framesFor = (jpeg: Uint8Array, maxDatagramBytes: number) => {
    frameMs = Math.max(frameMs + 1, Date.now());
    return chunkFrame(jpeg, ticksFromUnixMs(frameMs), { maxDatagramBytes });
  };
  /** What the agent sends: sealed by ours (nothing before keys), clear by the reference client. */
  const fromAgent = (inner: Buffer) => {
    if (!sealedAgent) return peer.sendRaw(inner);
    const sealed = agentPeer()?.sealer.seal(inner);
    if (sealed) peer.sendRaw(sealed);
  };

  const peer: RelayPeer = {
    url: '',
    code,
    viewerId: options.viewerId ?? 7,
    sessionId: options.sessionId ?? 1,
    received: [],
    refused: 0,
    tickets: [],
    ticketRequests: 0,
    confirms: [],
    keyCommits: [],
    connections: 0,
    sas: () => agentPeer()?.sas,
    sendFrame(jpeg, maxDatagramBytes = 1200) {
      const size = sealedAgent ? maxDatagramBytes - SEALED_OVERHEAD_BYTES : maxDatagramBytes;
      for (const d of framesFor(jpeg, size)) fromAgent(d);
    },
    sendClearFrame(jpeg, maxDatagramBytes = 1200) {
      for (const d of framesFor(jpeg, maxDatagramBytes)) peer.sendRaw(d);
    },
    seal(inner) {
      const sealer = agentPeer()?.sealer;
      if (!sealer) throw new Error('no keys agreed with the viewer yet: wait for peer.sas()');
      return sealer.seal(inner);
    },
    sendRaw(datagram) {
      if (peer.viewerAddress) udp.send(datagram, peer.viewerAddress.port, peer.viewerAddress.address);
    },
    sendControl(message) {
      peer.sendRaw(encodeControl(message));
    },
    sendAgentControl(message) {
      fromAgent(encodeControl(message));
    },
    setStatus(next) {
      status = next;
      for (const ws of sockets) ws.send(Signal.status(next));
    },
    announceAgent(resumed) {
      if (!resumed) agentKeys.forgetAll();
      for (const ws of sockets) ws.send(Signal.agentJoined(resumed));
    },
    dropWebSocket(closeCode, reason) {
      for (const ws of sockets) {
        if (closeCode) ws.close(closeCode, reason);
        else ws.terminate();
      }
    },
    async waitFor(what, check, ms = 5000) {
      const until = Date.now() + Math.max(ms, PATIENCE_MS);
      while (!check()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
      udp.close();
    },
  };

  const issueTicket = (ws: WebSocket) => {
    const ticket = `ticket-${peer.tickets.length + 1}`;
    peer.tickets.push(ticket);
    openTickets.set(ticket, ws);
    ws.send(Signal.udpTicket(udpPort, ticket));
  };

  /** The viewer's signalling: pings, its half of the key exchange, requests for a fresh ticket. */
  const onSignal = (ws: WebSocket, message: SignalMessage) => {
    switch (message.type) {
      case 'ping':
        return ws.send(Signal.pong());
      case 'udp_ticket_request':
        peer.ticketRequests++;
        return issueTicket(ws);
      case 'key_commit':
        peer.keyCommits.push(message.commitment);
        // The reference client knows nothing of keys: the commitment goes unanswered.
        if (sealedAgent) ws.send(Signal.agentKey(peer.viewerId, agentKeys.offer(peer.viewerId, message.commitment)));
        return;
      case 'viewer_key':
        if (sealedAgent && message.viewer_id === peer.viewerId) agentKeys.complete(peer.viewerId, message.public_key, peer.sessionId);
        return;
    }
  };

  const onViewerSocket = (ws: WebSocket) => {
    peer.connections++;
    sockets.add(ws);
    ws.on('close', () => {
      sockets.delete(ws);
      for (const [ticket, owner] of openTickets) if (owner === ws) openTickets.delete(ticket);
      // The relay keeps a viewer's address pinned only as long as its WebSocket.
      if (sockets.size === 0) peer.viewerAddress = undefined;
    });
    ws.on('message', (data) => {
      const parsed = parseSignalMessage(data as Buffer);
      if (parsed.ok) onSignal(ws, parsed.message);
    });
    ws.send(Signal.joined(peer.viewerId, peer.sessionId, allowUnencrypted));
    issueTicket(ws);
    ws.send(Signal.status(status));
  };

  const http: Server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${PEER_TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"detail":"Not authenticated"}');
      return;
    }
    if (req.method === 'GET' && req.url === '/api/sessions') {
      const session = {
        id: peer.sessionId,
        session_code: code,
        tech_user_id: 1,
        customer_name: options.customerName ?? 'Ada Lovelace',
        customer_email: null,
        status,
        udp_port: udpPort,
        created_at: new Date().toISOString(),
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([session]));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not found"}');
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    const match = /^\/(?:api\/)?ws\/session\/(\d+)$/.exec(req.url ?? '');
    if (!match || match[1] !== code || req.headers.authorization !== `Bearer ${PEER_TOKEN}`) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, onViewerSocket);
  });

  /** A single-use ticket earns one viewer_ack with a fresh cookie (unless this ack is to be lost). */
  const onHello = (ticket: string, from: RemoteInfo) => {
    if (!openTickets.delete(ticket)) return; // unknown, redeemed, or its WebSocket is gone
    if (lostAcks > 0) return void lostAcks--;
    const cookie = randomBytes(16).toString('base64url');
    pending.set(addressKey(from), { cookie, ticket });
    udp.send(encodeControl({ type: 'viewer_ack', cookie }), from.port, from.address);
  };

  /** The cookie echoed from where it was sent pins that address; a repeat from it is answered again. */
  const onConfirm = (cookie: string, from: RemoteInfo) => {
    peer.confirms.push(cookie);
    const waiting = pending.get(addressKey(from));
    if (waiting?.cookie === cookie) {
      pending.delete(addressKey(from));
      peer.viewerAddress = from;
      peer.pinnedTicket = waiting.ticket;
      pinnedCookie = cookie;
    } else if (cookie !== pinnedCookie || !peer.viewerAddress || addressKey(peer.viewerAddress) !== addressKey(from)) {
      return;
    }
    if (options.loseFirstReady && !readiesSent.has(cookie)) return void readiesSent.add(cookie);
    udp.send(encodeControl({ type: 'viewer_ready' }), from.port, from.address);
  };

  /** A packet from the pinned address: sealed ones are opened with the agent's keys. */
  const record = (packet: Packet) => {
    if (packet.type !== 'sealed') return void peer.received.push({ ...packet, sealed: false });
    const opened = agentPeer()?.opener.open(packet);
    const inner = opened?.ok ? decodeDatagram(opened.value) : undefined;
    if (inner?.ok) peer.received.push({ ...inner.packet, sealed: true });
    else peer.refused++;
  };

  udp.on('message', (msg, rinfo) => {
    const decoded = decodeDatagram(msg);
    if (!decoded.ok) return;
    const packet = decoded.packet;
    if (packet.type === 'control' && packet.message.type === 'viewer_hello') onHello(packet.message.ticket, rinfo);
    if (packet.type === 'control' && packet.message.type === 'viewer_confirm') onConfirm(packet.message.cookie, rinfo);
    if (peer.viewerAddress && addressKey(rinfo) === addressKey(peer.viewerAddress)) record(packet);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const address = http.address() as { port: number };
  peer.url = `http://127.0.0.1:${address.port}`;
  return peer;
}

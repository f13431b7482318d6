// A test peer that speaks the broker's side of DESIGN.md for ONE viewer: GET /api/sessions,
// the viewer WebSocket (Bearer token → udp_ticket + status) and the session's UDP port
// (viewer_hello → viewer_ack, frames out, mouse/keyboard/control in). The end-to-end test runs
// the real broker (view-broker.test.ts); this peer is for what a real broker cannot be made to do
// on cue: drop the WebSocket, refuse, send garbage datagrams, exact frame timing.
import { PATIENCE_MS } from './patience.js';
import { createServer, type Server } from 'node:http';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { chunkFrame } from '../../src/protocol/chunker.js';
import { type Packet, decodeDatagram, encodeControl } from '../../src/protocol/datagram.js';
import { ticksFromUnixMs } from '../../src/protocol/frame-ids.js';
import type { ControlMessage } from '../../src/protocol/control-messages.js';

export const PEER_TOKEN = 'test-token-for-the-relay-peer';

export interface RelayPeer {
  url: string;
  code: string;
  /** Packets the viewer sent over UDP, decoded, in order. */
  received: Packet[];
  tickets: string[];
  /** WebSocket connections the viewer opened so far. */
  connections: number;
  viewerAddress?: RemoteInfo;
  sendFrame(jpeg: Uint8Array, maxDatagramBytes?: number): void;
  sendRaw(datagram: Buffer): void;
  sendControl(message: ControlMessage): void;
  setStatus(status: string): void;
  /** Drops the viewer's WebSocket (as a broker restart would). */
  dropWebSocket(code?: number, reason?: string): void;
  waitFor(what: string, check: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRelayPeer(options: { code?: string; customerName?: string; status?: string } = {}): Promise<RelayPeer> {
  const code = options.code ?? '482916573';
  let status = options.status ?? 'active';
  const udp: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const udpPort = udp.address().port;
  const sockets = new Set<WebSocket>();
  let frameMs = Date.now();

  const http: Server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${PEER_TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"detail":"Not authenticated"}');
      return;
    }
    if (req.method === 'GET' && req.url === '/api/sessions') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify([
          {
            id: 1,
            session_code: code,
            tech_user_id: 1,
            customer_name: options.customerName ?? 'Ada Lovelace',
            customer_email: null,
            status,
            udp_port: udpPort,
            created_at: new Date().toISOString(),
          },
        ]),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not found"}');
  });
  const wss = new WebSocketServer({ noServer: true });
  const peer: RelayPeer = {
    url: '',
    code,
    received: [],
    tickets: [],
    connections: 0,
    sendFrame(jpeg, maxDatagramBytes = 1200) {
      frameMs = Math.max(frameMs + 1, Date.now());
      for (const d of chunkFrame(jpeg, ticksFromUnixMs(frameMs), { maxDatagramBytes })) peer.sendRaw(d);
    },
    sendRaw(datagram) {
      if (peer.viewerAddress) udp.send(datagram, peer.viewerAddress.port, peer.viewerAddress.address);
    },
    sendControl(message) {
      peer.sendRaw(encodeControl(message));
    },
    setStatus(next) {
      status = next;
      for (const ws of sockets) ws.send(JSON.stringify({ type: 'status', status: next }));
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
  http.on('upgrade', (req, socket, head) => {
    const match = /^\/(?:api\/)?ws\/session\/(\d+)$/.exec(req.url ?? '');
    if (!match || match[1] !== code || req.headers.authorization !== `Bearer ${PEER_TOKEN}`) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      peer.connections++;
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'ping') ws.send('{"type":"pong"}');
      });
      const ticket = `ticket-${peer.connections}`;
      peer.tickets.push(ticket);
      ws.send(JSON.stringify({ type: 'udp_ticket', udp_port: udpPort, ticket }));
      ws.send(JSON.stringify({ type: 'status', status }));
    });
  });
  udp.on('message', (msg, rinfo) => {
    const decoded = decodeDatagram(msg);
    if (!decoded.ok) return;
    const packet = decoded.packet;
    if (packet.type === 'control' && packet.message.type === 'viewer_hello') {
      if (packet.message.ticket !== peer.tickets.at(-1)) return; // an old or unknown ticket pins nothing
      peer.viewerAddress = rinfo;
      udp.send(encodeControl({ type: 'viewer_ack' }), rinfo.port, rinfo.address);
    }
    if (peer.viewerAddress && rinfo.port === peer.viewerAddress.port) peer.received.push(packet);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const address = http.address() as { port: number };
  peer.url = `http://127.0.0.1:${address.port}`;
  return peer;
}

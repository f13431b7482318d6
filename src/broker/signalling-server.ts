// The session WebSocket, /ws/session/{code} (and /api/ws/session/{code}). Without credentials it
// is the customer's agent; with a Bearer token (header or ?token=) it is the IT member's viewer,
// allowed for the session's owner and admins. Server-side pings drop dead connections.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { bearerToken } from '../http-kit/bearer.js';
import { Heartbeat } from '../http-kit/heartbeat.js';
import { refuseUpgrade } from '../http-kit/upgrade-refusal.js';
import { Signal, isSessionCode, parseSignalMessage } from '../protocol/index.js';
import { userForToken } from './auth.js';
import type { BrokerContext } from './context.js';
import { CLOSE_POLICY_VIOLATION, type SessionHub } from './session-hub.js';

const PATH = /^\/(?:api\/)?ws\/session\/([^/?#]+)\/?$/;
export const MAX_SIGNAL_PAYLOAD_BYTES = 64 * 1024;
export const PING_INTERVAL_MS = 15_000;

export class SignallingServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNAL_PAYLOAD_BYTES });
  // Connections that miss a pong between two pings are dead (a vanished laptop, a dropped NAT).
  private readonly heartbeat = new Heartbeat(this.wss, PING_INTERVAL_MS);

  constructor(
    private readonly ctx: BrokerContext,
    private readonly hub: SessionHub,
    server: Server,
  ) {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head).catch(() => socket.destroy());
    });
  }

  close(): void {
    this.heartbeat.stop();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://broker');
    const match = PATH.exec(url.pathname);
    if (!match) return reject(socket, 404, 'Not Found');
    const code = decodeURIComponent(match[1]!);

    const token = bearerToken(request.headers.authorization) ?? url.searchParams.get('token');
    const user = token ? await userForToken(this.ctx, token) : null;
    if (token && !user) return reject(socket, 401, 'Unauthorized');

    const session = isSessionCode(code) ? this.ctx.sessions.store.byCode(code) : undefined;
    if (user && session && user.role !== 'admin' && session.tech_user_id !== user.id) return reject(socket, 403, 'Forbidden');

    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.heartbeat.track(ws);
      ws.on('error', () => ws.terminate());
      if (!session) return ws.close(CLOSE_POLICY_VIOLATION, 'Session not found');
      if (session.status === 'closed') return ws.close(CLOSE_POLICY_VIOLATION, 'Session closed');
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const parsed = parseSignalMessage(data as Buffer);
        if (!parsed.ok) return;
        if (parsed.message.type === 'ping') ws.send(Signal.pong());
        else if (parsed.message.type === 'disconnect') ws.close(1000, 'Disconnected');
      });
      if (user) this.hub.viewerConnected(session, ws, user);
      else this.hub.agentConnected(session, ws);
    });
  }
}

function reject(socket: Duplex, status: number, text: string): void {
  refuseUpgrade(socket, status, { detail: text });
}

// The tunnel WebSocket's upgrades, /ws/session/{code}/tunnel (docs/protocol.md, "Tunnels"). The IT
// side comes with a Bearer token (header or ?token=) and is authorised like the viewer WebSocket:
// the session's owner or an admin. The customer's agent comes with ?stream=N and its agent secret in
// X-Rac-Agent-Secret, to pick up a stream the broker asked it for. Both then belong to TunnelRelay.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { decodeJwt } from 'jose';
import { bearerToken } from '../http-kit/bearer.js';
import { refuseUpgrade } from '../http-kit/upgrade-refusal.js';
import { isSessionCode } from '../protocol/session-code.js';
import { MAX_STREAM_ID } from '../protocol/signal-messages.js';
import { userForToken } from './auth.js';
import type { BrokerContext } from './context.js';
import { acceptKeyFor, isWebSocketKey } from '../protocol/websocket-frames.js';
import { TunnelSocket } from '../shared/tunnel-socket.js';
import type { SessionHub, ViewerLogin } from './session-hub.js';
import type { Session } from './session-store.js';

export const TUNNEL_PATH = /^\/(?:api\/)?ws\/session\/([^/?#]+)\/tunnel\/?$/;
const AGENT_SECRET_HEADER = 'x-rac-agent-secret';

export class TunnelServer {
  /** Open tunnel sockets, cut when the broker stops. */
  private readonly sockets = new Set<TunnelSocket>();

  constructor(
    private readonly ctx: BrokerContext,
    private readonly hub: SessionHub,
  ) {}

  close(): void {
    for (const socket of this.sockets) socket.terminate();
  }

  /** `address`: the client's, as the signalling server reads it (a proxy's or another node's word taken only when trusted). */
  async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, code: string, address: string): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://broker');
    const session = isSessionCode(code) ? await this.ctx.sessions.store.byCode(code) : undefined;
    const token = bearerToken(request.headers.authorization) ?? url.searchParams.get('token');
    if (token) return this.fromIt(request, socket, head, token, session, address);
    if (url.searchParams.has('stream')) return this.fromAgent(request, socket, head, url.searchParams.get('stream')!, session);
    refuseUpgrade(socket, 401, { detail: 'Not authenticated: log in (Bearer token)' });
  }

  private async fromIt(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    token: string,
    session: Session | undefined,
    address: string,
  ): Promise<void> {
    const login = await this.viewerLogin(token);
    if (!login) return refuseUpgrade(socket, 401, { detail: 'Invalid or expired token: log in again' });
    if (!session) return refuseUpgrade(socket, 404, { detail: 'Session not found' });
    if (login.user.role !== 'admin' && session.tech_user_id !== login.user.id) {
      return refuseUpgrade(socket, 403, { detail: 'Not allowed to access this session' });
    }
    if (session.status === 'closed') return refuseUpgrade(socket, 410, { detail: 'Session closed' });
    const busy = this.hub.tunnels.refuseBeforeUpgrade(session.id);
    if (busy) return refuseUpgrade(socket, busy.status, { detail: busy.detail });
    this.accept(request, socket, head, (ws) => {
      this.ctx.audit
        .record(
          { id: login.user.id, email: login.user.email, address: address || null },
          { action: 'session.tunnel_open', target_type: 'session', target_id: session.id },
        )
        .catch((err: Error) => this.ctx.log.error({ session_id: session.id, err }, 'database error: tunnel_open not audited'));
      this.hub.tunnels.openFromIt(session.id, ws, login);
    });
  }

  private fromAgent(request: IncomingMessage, socket: Duplex, head: Buffer, streamText: string, session: Session | undefined): void {
    const secret = request.headers[AGENT_SECRET_HEADER];
    const streamId = /^\d{1,10}$/.test(streamText) ? Number(streamText) : 0;
    if (!session || streamId < 1 || streamId > MAX_STREAM_ID) return refuseUpgrade(socket, 404, { detail: 'No such tunnel stream' });
    if (typeof secret !== 'string' || !this.hub.agentSecretMatches(session.id, secret)) {
      return refuseUpgrade(socket, 403, { detail: 'Not the agent secret of this session' });
    }
    if (!this.hub.tunnels.isWaiting(session.id, streamId)) return refuseUpgrade(socket, 404, { detail: 'No tunnel waits for this stream' });
    this.accept(request, socket, head, (ws) => this.hub.tunnels.agentDialled(session.id, streamId, ws));
  }

  /**
   * Completes the handshake (no compression: SSH ciphertext does not compress) and hands the socket
   * on, synchronously: the checks made just before still hold (the tunnel cap, the agent).
   */
  private accept(request: IncomingMessage, socket: Duplex, head: Buffer, then: (tunnel: TunnelSocket) => void): void {
    const tunnel = acceptTunnelUpgrade(request, socket, head);
    if (!tunnel) return;
    this.sockets.add(tunnel);
    tunnel.once('close', () => this.sockets.delete(tunnel));
    then(tunnel);
    tunnel.begin();
  }

  private async viewerLogin(token: string): Promise<ViewerLogin | null> {
    const user = await userForToken(this.ctx, token);
    if (!user) return null;
    const exp = decodeJwt(token).exp;
    return { user, tokenVersion: user.token_version, expiresAt: typeof exp === 'number' ? exp * 1000 : Infinity };
  }
}

/**
 * Answers a tunnel upgrade with 101 and gives the socket, or refuses it with 400 (and undefined)
 * when the request is not a WebSocket handshake this broker speaks.
 */
function acceptTunnelUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): TunnelSocket | undefined {
  // The client may have gone while its token and session were looked up.
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return undefined;
  }
  const key = request.headers['sec-websocket-key'];
  const upgrade = request.headers.upgrade?.toLowerCase();
  if (request.method !== 'GET' || upgrade !== 'websocket' || request.headers['sec-websocket-version'] !== '13' || !isWebSocketKey(key)) {
    refuseUpgrade(socket, 400, { detail: 'Not a WebSocket (version 13) handshake' }, { 'Sec-WebSocket-Version': '13' });
    return undefined;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptKeyFor(key)}\r\n\r\n`,
  );
  return new TunnelSocket(socket, head, 'server');
}

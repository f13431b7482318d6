// The session WebSocket, /ws/session/{code} (and /api/ws/session/{code}). Without credentials it
// is the customer's agent (header X-Rac-Agent-Secret when it resumes); with a Bearer token (header
// or ?token=) it is the IT member's viewer, allowed for the session's owner and admins. Agent
// lookups share the per-address throttle of GET /api/sessions/{code}/info: once an address is
// throttled every code answers 429, live or not. Server-side pings drop dead connections.
import proxyAddr from '@fastify/proxy-addr';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { decodeJwt } from 'jose';
import { WebSocket, WebSocketServer } from 'ws';
import { bearerToken } from '../http-kit/bearer.js';
import { Heartbeat } from '../http-kit/heartbeat.js';
import { refuseUpgrade } from '../http-kit/upgrade-refusal.js';
import {
  AGENT_SHELL_HEADER,
  type AgentShell,
  CloseCode,
  Signal,
  isSessionCode,
  parseAgentShell,
  parseSignalMessage,
} from '../protocol/index.js';
import { userForToken } from './auth.js';
import type { BrokerContext } from './context.js';
import { BrokerError } from './errors.js';
import type { SessionHub, SignalHandler, ViewerLogin } from './session-hub.js';
import type { Session } from './session-store.js';
import { TUNNEL_PATH, TunnelServer } from './tunnel-server.js';
import type { ClusterNode } from './cluster/cluster-node.js';
import { forwardedAddress, forwardedHeaders, isForwarded } from './cluster/forwarded-address.js';
import { proxyUpgrade } from './cluster/upgrade-proxy.js';

const PATH = /^\/(?:api\/)?ws\/session\/([^/?#]+)\/?$/;
export const MAX_SIGNAL_PAYLOAD_BYTES = 64 * 1024;
export const PING_INTERVAL_MS = 15_000;
/** The throttle scope shared with GET /api/sessions/{code}/info. */
export const CODE_LOOKUP_SCOPE = 'session_code';
export const AGENT_SECRET_HEADER = 'x-rac-agent-secret';

type Party =
  | { kind: 'viewer'; login: ViewerLogin }
  | { kind: 'agent'; secret: string | undefined; secretValid: boolean; shell: AgentShell | undefined };

export class SignallingServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNAL_PAYLOAD_BYTES });
  // Connections that miss a pong between two pings are dead (a vanished laptop, a dropped NAT).
  private readonly heartbeat = new Heartbeat(this.wss, PING_INTERVAL_MS);
  private readonly trusted: ((address: string, hop: number) => boolean) | undefined;
  /** /ws/session/{code}/tunnel: the SSH byte pipes of `rac shell`, `rac cp` and `rac tunnel`. */
  private readonly tunnels: TunnelServer;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly hub: SessionHub,
    server: Server,
    trustProxy?: string,
    /** Sessions other nodes hold are passed to them. */
    private readonly cluster?: ClusterNode,
  ) {
    this.tunnels = new TunnelServer(ctx, hub);
    this.trusted = trustProxy ? proxyAddr.compile(trustProxy.split(',').map((s) => s.trim())) : undefined;
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head).catch(() => socket.destroy());
    });
  }

  close(): void {
    this.heartbeat.stop();
    this.tunnels.close();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://broker');
    const tunnel = TUNNEL_PATH.exec(url.pathname);
    const anyCode = tunnel?.[1] ?? PATH.exec(url.pathname)?.[1];
    if (anyCode !== undefined && (await this.passedToOwner(request, socket, head, safeDecode(anyCode)))) return;
    if (tunnel) return this.tunnels.upgrade(request, socket, head, safeDecode(tunnel[1]!), this.clientAddress(request));
    const match = PATH.exec(url.pathname);
    if (!match) return reject(socket, 404, 'Not Found');
    const code = safeDecode(match[1]!);

    const token = bearerToken(request.headers.authorization) ?? url.searchParams.get('token');
    const address = this.clientAddress(request);
    let party: Party;
    let session: Session | undefined;
    if (token) {
      const login = await this.viewerLogin(token);
      if (!login) return this.refuse(socket, 401, 'Unauthorized', address);
      session = isSessionCode(code) ? await this.ctx.sessions.store.byCode(code) : undefined;
      if (session && login.user.role !== 'admin' && session.tech_user_id !== login.user.id)
        return this.refuse(socket, 403, 'Forbidden', address);
      party = { kind: 'viewer', login };
    } else {
      const looked = await this.agentLookup(request, code);
      if (looked instanceof BrokerError) return this.refuse(socket, 429, 'Too Many Requests', address, looked.headers);
      ({ session, party } = looked);
    }

    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.heartbeat.track(ws);
      ws.on('error', () => ws.terminate());
      if (!session) return ws.close(CloseCode.SESSION_GONE, 'Session not found');
      if (session.status === 'closed') return ws.close(CloseCode.SESSION_GONE, 'Session closed');
      if (party.kind === 'agent' && !party.secretValid) {
        return ws.close(CloseCode.BAD_AGENT_SECRET, 'Not the agent secret of this session: join with the code alone');
      }
      const handler =
        party.kind === 'viewer'
          ? this.hub.viewerConnected(session, ws, party.login, address)
          : this.hub.agentConnected(session, ws, party.secret !== undefined, address);
      // What the agent said of its shell as it joined: a tunnel then need not guess (tunnel-relay.ts).
      if (handler && party.kind === 'agent') this.hub.tunnels.setAgentShell(session.id, party.shell);
      if (handler) this.listen(ws, handler);
    });
  }

  /** The agent's lookup: throttled per address like the info route; unknown codes and wrong secrets count. */
  private async agentLookup(request: IncomingMessage, code: string): Promise<{ session: Session | undefined; party: Party } | BrokerError> {
    const address = this.clientAddress(request);
    try {
      this.ctx.throttle.check(CODE_LOOKUP_SCOPE, address);
    } catch (err) {
      if (err instanceof BrokerError) return err;
      throw err;
    }
    const session = isSessionCode(code) ? await this.ctx.sessions.store.byCode(code) : undefined;
    if (!session) await this.ctx.throttle.recordMiss(CODE_LOOKUP_SCOPE, address);
    const header = request.headers[AGENT_SECRET_HEADER];
    const secret = typeof header === 'string' ? header : undefined;
    const secretValid = secret === undefined || !session || this.hub.agentSecretMatches(session.id, secret);
    if (!secretValid) await this.ctx.throttle.recordMiss(CODE_LOOKUP_SCOPE, address);
    return { session, party: { kind: 'agent', secret, secretValid, shell: parseAgentShell(request.headers[AGENT_SHELL_HEADER]) } };
  }

  private async viewerLogin(token: string): Promise<ViewerLogin | null> {
    const user = await userForToken(this.ctx, token);
    if (!user) return null;
    const exp = decodeJwt(token).exp;
    return { user, tokenVersion: user.token_version, expiresAt: typeof exp === 'number' ? exp * 1000 : Infinity };
  }

  /** Refuses the upgrade; the log line has the status and address only (never the URL: ?token=). */
  private refuse(socket: Duplex, status: number, text: string, address: string, headers: Record<string, string> = {}): void {
    this.ctx.log.info({ status, address }, `session WebSocket refused: ${text}`);
    reject(socket, status, text, headers);
  }

  /**
   * A session another node holds: its WebSockets (signalling and tunnel) are piped to that node,
   * which authorises them. A request that already came from a node is never passed on again.
   */
  private async passedToOwner(request: IncomingMessage, socket: Duplex, head: Buffer, code: string): Promise<boolean> {
    if (!this.cluster || !isSessionCode(code)) return false;
    const session = await this.ctx.sessions.store.byCode(code);
    const owner = session && (await this.cluster.ownerOf(session));
    if (!owner) return false;
    if (isForwarded(request)) {
      reject(socket, 503, 'The session is held by another broker node: try again in a moment', { 'Retry-After': '2' });
      return true;
    }
    this.ctx.log.debug({ session_id: session.id, node_id: owner.id }, 'session WebSocket passed to the node holding the session');
    const headers = forwardedHeaders(this.cluster.forwardKey, this.clientAddress(request));
    proxyUpgrade(request, socket, head, { internalUrl: owner.internal_url, headers });
    return true;
  }

  /**
   * The client's address as the HTTP routes see it (X-Forwarded-For only from --trust-proxy), or
   * the one another node vouched for when it passed this WebSocket on.
   */
  private clientAddress(request: IncomingMessage): string {
    const vouched = this.cluster && forwardedAddress(request, this.cluster.forwardKey);
    if (vouched) return vouched;
    if (!this.trusted) return request.socket.remoteAddress ?? '';
    return proxyAddr(request, this.trusted);
  }

  private listen(ws: WebSocket, handler: SignalHandler): void {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const parsed = parseSignalMessage(data as Buffer);
      if (!parsed.ok) return;
      const message = parsed.message;
      if (message.type === 'ping') ws.send(Signal.pong());
      else if (message.type === 'disconnect') ws.close(CloseCode.NORMAL, 'Disconnected');
      else handler(message);
    });
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function reject(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  refuseUpgrade(socket, status, { detail: text }, headers);
}

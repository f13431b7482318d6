// Live state of every open session: its UDP relay, the agent's WebSocket and secret, the viewers'
// WebSockets. The hub introduces the parties (docs/security.md): it passes the key exchange between
// the agent and each viewer without being able to take part in it, hands out UDP tickets, and keeps
// every viewer authorised for as long as it is connected. It owns the status rule: `active` while an
// agent is there (its WebSocket, or the reference client's plain handshake) and its UDP stream has
// not gone silent; `disconnected` when that fails after it joined; closed when idle too long.
import { timingSafeEqual } from 'node:crypto';
import { WebSocket } from 'ws';
import { newAgentSecret } from '../protocol/crypto/keys.js';
import { CloseCode, Signal, type SessionStatus, type SignalMessage } from '../protocol/index.js';
import { type Actor, type AuditLog, SYSTEM_ACTOR } from './audit-log.js';
import { type BrokerLogger, silentLogger } from './broker-log.js';
import { HandshakeThrottle } from './handshake-throttle.js';
import { TicketBook } from './relay-tickets.js';
import type { SessionManager } from './session-manager.js';
import { SessionRelay, type RelayCounters, newCounters } from './session-relay.js';
import { TunnelRelay } from './tunnel-relay.js';
import { type Session, allowsUnencryptedAgent } from './session-store.js';
import type { UserStore, UserWithSecrets } from './users.js';
import { ViewerIds } from './viewer-ids.js';

/** What the viewer's login token said when it connected: checked again for as long as it stays. */
export interface ViewerLogin {
  user: UserWithSecrets;
  tokenVersion: number;
  /** When the token expires (ms since the epoch). */
  expiresAt: number;
}

interface ViewerConnection extends ViewerLogin {
  id: number;
  /** The client address it connected from (for the audit log). */
  address: string | null;
  ws: WebSocket;
  /** The viewer's key_commit for the current agent, passed to every agent that joins. */
  commitment: string | undefined;
  /** When it last asked for a fresh ticket (udp_ticket_request). */
  lastRequestAt: number;
}

interface LiveSession {
  id: number;
  code: string;
  ownerId: number;
  udpPort: number;
  allowUnencrypted: boolean;
  relay: SessionRelay;
  agent: WebSocket | undefined;
  agentSecret: string | undefined;
  /** The reference client pinned itself with a plain handshake (it never opens a WebSocket). */
  plainAgent: boolean;
  viewers: Map<number, ViewerConnection>;
  /** Last datagram from the pinned agent; 0 before its UDP stream started. */
  agentUdpSeenAt: number;
  /** Last time a viewer came or went (or the hub took the session on). */
  viewersChangedAt: number;
}

export type SignalHandler = (message: SignalMessage) => void;

export interface SessionHubOptions {
  /** How long the agent's UDP stream may stay silent before the session counts as disconnected. */
  agentTimeoutMs: number;
  /** An active or disconnected session with no agent datagram and no viewer this long is closed. */
  idleTimeoutMs: number;
  /** Viewer WebSockets per session. */
  maxViewers: number;
  users: UserStore;
  /** Joins and leaves of viewers and agents are recorded here. */
  audit?: AuditLog;
  log?: BrokerLogger;
  now?: () => number;
  /** This node's relay host for viewers' UDP tickets (undefined: the host they reached the broker by). */
  relayHost?: () => string | undefined;
}

export { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_VIEWERS } from './session-limits.js';
/** How often viewers' rights, UDP silence and idleness are re-checked. */
export const SWEEP_INTERVAL_MS = 500;
/** A viewer gets at most one fresh ticket this often. */
export const TICKET_REQUEST_INTERVAL_MS = 1000;

const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export class SessionHub {
  readonly tickets: TicketBook;
  /** The sessions' SSH tunnels: they follow the agent, the session and each IT member's rights. */
  readonly tunnels: TunnelRelay;
  private readonly handshakes: HandshakeThrottle;
  private readonly viewerIds = new ViewerIds();
  private readonly live = new Map<number, LiveSession>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  /** Set by stop(): WebSocket close events that arrive after it must not touch the (closed) database. */
  private stopped = false;
  /** Counters of relays already detached (closed sessions), so totals never go down. */
  private readonly retired = newCounters();
  private readonly log: BrokerLogger;
  /** Users as last read from the database, for the tunnel relay's synchronous checks; every sweep reads them again. */
  private readonly knownUsers = new Map<number, UserWithSecrets | undefined>();

  constructor(
    private readonly sessions: SessionManager,
    private readonly options: SessionHubOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? silentLogger();
    this.tickets = new TicketBook(this.now);
    this.handshakes = new HandshakeThrottle(this.now);
    this.tunnels = new TunnelRelay(
      {
        agent: (sessionId) => {
          const live = this.live.get(sessionId);
          const open = live?.agent?.readyState === WebSocket.OPEN;
          return open && live.agentSecret ? { ws: live.agent!, secret: live.agentSecret } : undefined;
        },
        refusal: (sessionId, login) => {
          const live = this.live.get(sessionId);
          return live ? this.knownRefusal(live, login) : CloseCode.SESSION_GONE;
        },
      },
      this.now,
    );
    sessions.on('created', (session) => this.attach(session));
    sessions.on('status', (session) => this.statusChanged(session));
    sessions.on('adopted', (session) => this.attach(session));
    sessions.on('moved', (session) => this.movedAway(session));
    sessions.onClosing = (session) => this.closing(session);
    options.users.on('changed', (user) => {
      this.knownUsers.set(user.id, user);
      void this.checkViewersOf(user.id);
    });
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Attaches relays to the sessions that are live now (after the manager re-claimed their ports). */
  async start(): Promise<void> {
    for (const session of await this.sessions.store.live(this.sessions.nodeId))
      this.attach(session, await this.sessions.store.agentSecret(session.id));
  }

  /** On broker shutdown: tell both sides over UDP and WebSocket, so they reconnect when it is back. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all(
      [...this.live.values()].map(async (live) => {
        this.tunnels.sessionGone(live.id, CloseCode.RESTARTING, 'Broker restarting');
        // `reason` lets our agent tell a restart (reconnect) from the end of the session (exit).
        await live.relay.broadcast({ type: 'disconnect', reason: 'shutdown' });
        for (const ws of this.sockets(live)) ws.close(CloseCode.RESTARTING, 'Broker restarting');
        live.relay.detach();
      }),
    );
    this.live.clear();
  }

  counters(sessionId: number): (RelayCounters & { agent_pinned: boolean; viewers_pinned: number }) | undefined {
    const live = this.live.get(sessionId);
    return live && { ...live.relay.counters, agent_pinned: !!live.relay.agentEndpoint, viewers_pinned: live.relay.viewerCount };
  }

  /** Every relay's counters since the broker started (for the metrics). */
  relayTotals(): RelayCounters {
    const totals = { ...this.retired };
    for (const live of this.live.values()) addCounters(totals, live.relay.counters);
    return totals;
  }

  /** Session WebSockets open now. */
  connections(): { viewers: number; agents: number } {
    let viewers = 0;
    let agents = 0;
    for (const live of this.live.values()) {
      viewers += live.viewers.size;
      if (live.agent) agents++;
    }
    return { viewers, agents };
  }

  /** A closing session leaves the live map; its relay's counters stay in the totals. */
  private retire(live: LiveSession): void {
    addCounters(this.retired, live.relay.counters);
    this.live.delete(live.id);
  }

  /** True when `secret` is the session's current agent secret (compared in constant time). */
  agentSecretMatches(sessionId: number, secret: string): boolean {
    const current = this.live.get(sessionId)?.agentSecret;
    return current !== undefined && sameSecret(current, secret);
  }

  /**
   * The customer's agent. With `resuming` (its secret was checked) it replaces its own stale
   * connection; with the code alone it joins only while no agent is connected, and gets a new secret.
   */
  agentConnected(session: Session, ws: WebSocket, resuming: boolean, address: string | null = null): SignalHandler | undefined {
    const live = this.live.get(session.id);
    if (!live) return void ws.close(CloseCode.SESSION_GONE, 'Session closed');
    const connected = live.agent !== undefined && live.agent.readyState === WebSocket.OPEN;
    if (!resuming && connected) {
      return void ws.close(CloseCode.AGENT_ALREADY_CONNECTED, 'An agent is already connected to this session');
    }
    if (live.agent) live.agent.close(CloseCode.REPLACED, 'Replaced by a new connection of the same agent');
    live.agent = ws;
    // The status is stored before the agent is welcomed: whoever it tells finds the session active.
    void this.updateStatus(live).then(() => {
      if (live.agent !== ws || ws.readyState !== WebSocket.OPEN) return;
      if (resuming) this.agentResumed(live, ws);
      else this.agentJoined(live, ws);
    });
    this.partyEvent(live, resuming ? 'session.agent_resume' : 'session.agent_join', { id: null, email: null, address });
    ws.once('close', () => {
      if (live.agent !== ws) return;
      live.agent = undefined;
      if (!this.stopped) this.log.info({ session_id: live.id, address }, 'agent left');
      this.tunnels.agentGone(live.id);
      void this.updateStatus(live);
    });
    return (message) => this.fromAgent(live, message);
  }

  /** The same agent came back: nothing changes for the viewers; it learns who is there again. */
  private agentResumed(live: LiveSession, ws: WebSocket): void {
    ws.send(Signal.agentWelcome(live.id, true));
    for (const viewer of live.viewers.values()) if (viewer.commitment) ws.send(this.viewerMessage(viewer));
  }

  /**
   * A new agent: a new secret. If another agent had joined before, its keys mean nothing now: every
   * viewer is told and runs a new exchange; the old agent's UDP address is forgotten.
   */
  private agentJoined(live: LiveSession, ws: WebSocket): void {
    const replacing = live.agentSecret !== undefined;
    const secret = newAgentSecret();
    live.agentSecret = secret;
    // Kept for a broker restart; the live session knows it already.
    this.sessions.store.setAgentSecret(live.id, secret).catch((err: Error) => this.storeFailed(live, err));
    ws.send(Signal.agentWelcome(live.id, false, secret));
    if (replacing) {
      live.relay.forgetAgent();
      live.plainAgent = false;
      for (const viewer of live.viewers.values()) {
        viewer.commitment = undefined;
        viewer.ws.send(Signal.agentJoined(false));
      }
    } else {
      // Viewers that committed before any agent came: their commitments hold for this first agent.
      for (const viewer of live.viewers.values()) if (viewer.commitment) ws.send(this.viewerMessage(viewer));
    }
  }

  private fromAgent(live: LiveSession, message: SignalMessage): void {
    if (message.type === 'agent_host_key') return this.tunnels.setHostKey(live.id, message.public_key);
    if (message.type === 'tunnel_refused') return this.tunnels.refused(live.id, message.stream_id, message.reason);
    if (message.type !== 'agent_key') return;
    this.log.debug({ session_id: live.id, viewer_id: message.viewer_id, type: message.type }, 'signal from agent');
    // ssh_host_key (agents with --allow-shell) is part of the transcript: relayed as the agent sent it.
    live.viewers.get(message.viewer_id)?.ws.send(Signal.agentKey(message.viewer_id, message.public_key, message.ssh_host_key));
  }

  /** An IT member's viewer (the token was checked, and the user may open this session). */
  viewerConnected(session: Session, ws: WebSocket, login: ViewerLogin, address: string | null = null): SignalHandler | undefined {
    const live = this.live.get(session.id);
    if (!live) return void ws.close(CloseCode.SESSION_GONE, 'Session closed');
    const max = this.options.maxViewers;
    const id = live.viewers.size < max ? this.viewerIds.take() : undefined;
    if (id === undefined) return void ws.close(CloseCode.TOO_MANY_VIEWERS, `This session already has ${max} viewers`);
    const viewer: ViewerConnection = { ...login, id, address, ws, commitment: undefined, lastRequestAt: 0 };
    live.viewers.set(id, viewer);
    live.viewersChangedAt = this.now();
    ws.once('close', () => this.dropViewer(live, viewer, true));
    this.partyEvent(live, 'session.viewer_join', this.viewerActor(viewer), { viewer_id: id });
    ws.send(Signal.joined(id, live.id, live.allowUnencrypted));
    this.sendTicket(live, viewer);
    void this.sessions.store.byId(live.id).then(
      (current) => ws.send(Signal.status(current?.status ?? session.status)),
      (err: Error) => this.storeFailed(live, err),
    );
    return (message) => this.fromViewer(live, viewer, message);
  }

  private fromViewer(live: LiveSession, viewer: ViewerConnection, message: SignalMessage): void {
    if (!live.viewers.has(viewer.id)) return;
    this.log.debug({ session_id: live.id, viewer_id: viewer.id, type: message.type }, 'signal from viewer');
    if (message.type === 'key_commit') {
      viewer.commitment = message.commitment;
      live.agent?.send(this.viewerMessage(viewer));
    } else if (message.type === 'viewer_key') {
      // The viewer speaks for itself only: the id is the one its connection was given.
      live.agent?.send(Signal.viewerKey(viewer.id, message.public_key));
    } else if (message.type === 'udp_ticket_request') {
      if (this.now() - viewer.lastRequestAt < TICKET_REQUEST_INTERVAL_MS) return;
      viewer.lastRequestAt = this.now();
      this.sendTicket(live, viewer);
    }
  }

  private viewerMessage(viewer: ViewerConnection): string {
    return Signal.viewer(viewer.id, viewer.user.full_name ?? '', viewer.user.email, viewer.commitment!);
  }

  private sendTicket(live: LiveSession, viewer: ViewerConnection): void {
    viewer.ws.send(Signal.udpTicket(live.udpPort, this.tickets.issue(live.id, viewer.id), this.options.relayHost?.()));
    this.log.debug({ session_id: live.id, viewer_id: viewer.id }, 'UDP ticket issued');
  }

  /** Forgets a viewer everywhere at once: its UDP address, its tickets, its id. Idempotent. */
  private dropViewer(live: LiveSession, viewer: ViewerConnection, tellAgent: boolean): void {
    if (live.viewers.get(viewer.id) !== viewer) return;
    live.viewers.delete(viewer.id);
    live.relay.removeViewer(viewer.id);
    this.tickets.revokeViewer(viewer.id);
    this.viewerIds.release(viewer.id);
    live.viewersChangedAt = this.now();
    if (tellAgent) live.agent?.send(Signal.viewerLeft(viewer.id));
    if (!this.stopped) this.partyEvent(live, 'session.viewer_leave', this.viewerActor(viewer), { viewer_id: viewer.id });
  }

  private viewerActor(viewer: ViewerConnection): Actor {
    return { id: viewer.user.id, email: viewer.user.email, address: viewer.address };
  }

  /** A party came or went: one log line, one audit record. */
  private partyEvent(live: LiveSession, action: string, actor: Actor, detail: Record<string, unknown> = {}): void {
    this.log.info({ session_id: live.id, action, user: actor.email ?? undefined, address: actor.address, ...detail }, action);
    this.options.audit
      ?.record(actor, {
        action,
        target_type: 'session',
        target_id: live.id,
        detail: { session_code: live.code, ...detail },
      })
      .catch((err: Error) => this.storeFailed(live, err));
  }

  // ------------------------------------------------------------------ continuous authorisation

  /** Why this viewer may no longer watch (a close code), or undefined while it may. */
  private async refusal(live: LiveSession, viewer: ViewerLogin): Promise<number | undefined> {
    return this.refusalFor(await this.readUser(viewer.user.id), live, viewer);
  }

  /** The refusal by the user as last read (as at login when never read yet: then it is read for the next check). */
  private knownRefusal(live: LiveSession, viewer: ViewerLogin): number | undefined {
    if (this.knownUsers.has(viewer.user.id)) return this.refusalFor(this.knownUsers.get(viewer.user.id), live, viewer);
    this.readUser(viewer.user.id).catch((err: Error) => this.storeFailed(live, err));
    return this.refusalFor(viewer.user, live, viewer);
  }

  private async readUser(id: number): Promise<UserWithSecrets | undefined> {
    const user = await this.options.users.byId(id);
    this.knownUsers.set(id, user);
    return user;
  }

  private refusalFor(user: UserWithSecrets | undefined, live: LiveSession, viewer: ViewerLogin): number | undefined {
    if (!user || !user.is_active || user.token_version !== viewer.tokenVersion || this.now() >= viewer.expiresAt) {
      return CloseCode.NOT_AUTHENTICATED;
    }
    if (user.role !== 'admin' && user.id !== live.ownerId) return CloseCode.FORBIDDEN;
    return undefined;
  }

  /** Never rejects: a database error is logged and the viewers stay until the next sweep. */
  private async checkViewers(live: LiveSession, userId?: number): Promise<void> {
    for (const viewer of [...live.viewers.values()]) {
      if (userId !== undefined && viewer.user.id !== userId) continue;
      const code = await this.refusal(live, viewer).catch((err: Error) => void this.storeFailed(live, err));
      if (code === undefined || !live.viewers.has(viewer.id)) continue;
      this.log.info({ session_id: live.id, viewer_id: viewer.id, close_code: code }, 'viewer cut off: no longer allowed');
      this.dropViewer(live, viewer, true);
      viewer.ws.close(
        code,
        code === CloseCode.FORBIDDEN ? 'You may no longer open this session' : 'Your login is no longer valid: log in again',
      );
    }
  }

  private async checkViewersOf(userId: number): Promise<void> {
    if (this.stopped) return;
    for (const live of [...this.live.values()]) await this.checkViewers(live, userId);
    this.tunnels.recheck(userId);
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    this.handshakes.prune();
    const reads = [...this.knownUsers.keys()].map((id) => this.readUser(id));
    const read = await Promise.all(reads).then(
      () => true,
      (err: Error) => void this.log.error({ err }, 'database error'),
    );
    if (this.stopped) return;
    if (read) this.tunnels.recheck();
    for (const live of [...this.live.values()]) {
      void this.checkViewers(live);
      void this.updateStatus(live);
      void this.expireIfIdle(live);
    }
  }

  // ------------------------------------------------------------------------------ relays, status

  /** `agentSecret`: the stored one after a restart; a new session has none. */
  private attach(session: Session, agentSecret?: string): void {
    const socket = this.sessions.socketFor(session);
    if (!socket || this.live.has(session.id)) return;
    const live: LiveSession = {
      id: session.id,
      code: session.session_code,
      ownerId: session.tech_user_id,
      udpPort: session.udp_port,
      allowUnencrypted: allowsUnencryptedAgent(session),
      agent: undefined,
      agentSecret,
      plainAgent: false,
      viewers: new Map(),
      agentUdpSeenAt: 0,
      viewersChangedAt: this.now(),
      relay: undefined!,
    };
    live.relay = new SessionRelay(socket, {
      sessionId: session.id,
      sessionCode: session.session_code,
      allowUnencrypted: live.allowUnencrypted,
      redeemTicket: (ticket) => this.tickets.redeem(ticket, session.id),
      agentSecret: () => live.agentSecret,
      handshakeThrottle: this.handshakes,
      events: {
        agentPinned: (endpoint, _screen, proven) => {
          this.log.info({ session_id: live.id, address: endpoint.address, port: endpoint.port, proven }, 'relay pinned the agent');
          if (!proven) live.plainAgent = true;
        },
        viewerPinned: (endpoint, viewerId) => {
          this.log.info(
            { session_id: live.id, viewer_id: viewerId, address: endpoint.address, port: endpoint.port },
            'relay pinned a viewer',
          );
        },
        agentSeen: () => {
          const wasAway = this.udpSilent(live) || live.agentUdpSeenAt === 0;
          live.agentUdpSeenAt = this.now();
          if (wasAway) void this.updateStatus(live);
        },
      },
    });
    this.live.set(session.id, live);
  }

  private statusChanged(session: Session): void {
    const live = this.live.get(session.id);
    if (!live) return;
    for (const viewer of live.viewers.values()) viewer.ws.send(Signal.status(session.status));
  }

  private async closing(session: Session): Promise<void> {
    const live = this.live.get(session.id);
    if (!live) return;
    // Its counters join the totals now, before the await: a scrape meanwhile must not see them dip.
    this.retire(live);
    this.tickets.revokeSession(session.id);
    this.tunnels.sessionGone(session.id);
    for (const ws of this.sockets(live)) {
      ws.send(Signal.disconnect());
      ws.close(CloseCode.NORMAL, 'Session closed');
    }
    await live.relay.broadcast({ type: 'disconnect', reason: 'closed' });
    live.relay.detach();
    this.log.info({ session_id: live.id }, 'session closed: relay unpinned every party');
    for (const viewer of [...live.viewers.values()]) this.dropViewer(live, viewer, false);
  }

  /**
   * Another node took the session (this one was thought dead): its relay here stops and its port
   * is freed; whoever was connected here reconnects, and the lookup names the new node's port.
   */
  private movedAway(session: Session): void {
    const live = this.live.get(session.id);
    if (!live) return;
    this.retire(live);
    this.tickets.revokeSession(session.id);
    this.tunnels.sessionGone(session.id, CloseCode.RESTARTING, 'Session moved to another broker node');
    for (const ws of this.sockets(live)) ws.close(CloseCode.RESTARTING, 'Session moved to another broker node');
    live.relay.detach();
    this.sessions.releaseMovedPort(live.udpPort);
    this.log.warn({ session_id: live.id, node_id: session.node_id }, 'session taken over by another node: relay stopped here');
  }

  /** Never rejects (a database error is logged; the next sweep tries again). */
  private async expireIfIdle(live: LiveSession): Promise<void> {
    if (live.viewers.size > 0 || this.tunnels.count(live.id) > 0) return;
    const lastSign = Math.max(live.agentUdpSeenAt, live.viewersChangedAt);
    if (this.now() - lastSign < this.options.idleTimeoutMs) return;
    try {
      const current = await this.sessions.store.byId(live.id);
      if (current?.status !== 'active' && current?.status !== 'disconnected') return;
      await this.sessions.close(current, SYSTEM_ACTOR, 'session.expire_idle');
    } catch (err) {
      this.storeFailed(live, err as Error);
    }
  }

  private udpSilent(live: LiveSession): boolean {
    return live.agentUdpSeenAt > 0 && this.now() - live.agentUdpSeenAt > this.options.agentTimeoutMs;
  }

  /** Never rejects (a database error is logged; the next sweep tries again). */
  private async updateStatus(live: LiveSession): Promise<void> {
    if (this.stopped) return;
    try {
      const current = await this.sessions.store.byId(live.id);
      if (!current) return;
      // Closed by another node: a lost bus event must not leave its connections open.
      if (current.status === 'closed' || current.node_id !== this.sessions.nodeId) return await this.sessions.followRemoteChange(live.id);
      // Read after the await: the agent may have come or gone meanwhile.
      const connected = (live.agent !== undefined || live.plainAgent) && !this.udpSilent(live);
      let next: SessionStatus = current.status;
      if (connected) next = 'active';
      else if (current.status === 'active') next = 'disconnected';
      if (next !== current.status) await this.sessions.setStatus(live.id, next as Exclude<SessionStatus, 'closed'>);
    } catch (err) {
      this.storeFailed(live, err as Error);
    }
  }

  private storeFailed(live: LiveSession, err: Error): void {
    this.log.error({ session_id: live.id, err }, 'database error');
  }

  private sockets(live: LiveSession): WebSocket[] {
    return [...(live.agent ? [live.agent] : []), ...[...live.viewers.values()].map((v) => v.ws)];
  }
}

function addCounters(into: RelayCounters, from: RelayCounters): void {
  for (const name of Object.keys(into) as (keyof RelayCounters)[]) into[name] += from[name];
}

// Live state of every open session: its UDP relay, the agent's WebSocket and secret, the viewers'
// WebSockets (each party's socket is handled in agent-socket.ts and viewer-socket.ts, the rights of
// IT members in viewer-rights.ts; this is the registry and the wiring). The hub introduces the parties (docs/security.md): it passes the key exchange between
// the agent and each viewer without being able to take part in it, hands out UDP tickets, and keeps
// every viewer authorised for as long as it is connected. It owns the status rule: `active` while an
// agent is there (its WebSocket, or the reference client's plain handshake) and its UDP stream has
// not gone silent; `disconnected` when that fails after it joined; closed when idle too long.
import { timingSafeEqual } from 'node:crypto';
import { WebSocket } from 'ws';
import { CloseCode, Signal, type SessionStatus } from '../protocol/index.js';
import { AgentSocket } from './agent-socket.js';
import { type Actor, type AuditLog, SYSTEM_ACTOR } from './audit-log.js';
import { type BrokerLogger, silentLogger } from './broker-log.js';
import { HandshakeThrottle } from './handshake-throttle.js';
import type { HubServices, LiveSession, SignalHandler, ViewerLogin } from './live-session.js';
import { TicketBook } from './relay-tickets.js';
import type { SessionManager } from './session-manager.js';
import { type RelayCounters, newCounters } from './relay-counters.js';
import { SessionRelay } from './session-relay.js';
import { TunnelRelay } from './tunnel-relay.js';
import { type Session, allowsUnencryptedAgent } from './session-store.js';
import type { UserStore } from './users.js';
import { ViewerRights } from './viewer-rights.js';
import { ViewerSocket } from './viewer-socket.js';

export type { SignalHandler, ViewerLogin } from './live-session.js';
export { TICKET_REQUEST_INTERVAL_MS } from './viewer-socket.js';

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

const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export class SessionHub {
  readonly tickets: TicketBook;
  /** The sessions' SSH tunnels: they follow the agent, the session and each IT member's rights. */
  readonly tunnels: TunnelRelay;
  private readonly handshakes: HandshakeThrottle;
  private readonly live = new Map<number, LiveSession>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  /** Set by stop(): WebSocket close events that arrive after it must not touch the (closed) database. */
  private stopped = false;
  /** Counters of relays already detached (closed sessions), so totals never go down. */
  private readonly retired = newCounters();
  private readonly log: BrokerLogger;
  private readonly rights: ViewerRights;
  private readonly agents: AgentSocket;
  private readonly viewers: ViewerSocket;

  constructor(
    private readonly sessions: SessionManager,
    private readonly options: SessionHubOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? silentLogger();
    this.tickets = new TicketBook(this.now);
    this.handshakes = new HandshakeThrottle(this.now);
    this.rights = new ViewerRights(options.users, this.now);
    this.tunnels = new TunnelRelay(
      {
        agent: (sessionId) => {
          const live = this.live.get(sessionId);
          const open = live?.agent?.readyState === WebSocket.OPEN;
          return open && live.agentSecret ? { ws: live.agent!, secret: live.agentSecret, since: live.agentSince } : undefined;
        },
        refusal: (sessionId, login) => {
          const live = this.live.get(sessionId);
          return live ? this.rights.knownRefusal(live, login, (err) => this.storeFailed(live, err)) : CloseCode.SESSION_GONE;
        },
      },
      this.now,
    );
    const services = this.services();
    this.agents = new AgentSocket(services);
    this.viewers = new ViewerSocket(services, options);
    sessions.on('created', (session) => this.attach(session));
    sessions.on('status', (session) => this.statusChanged(session));
    sessions.on('adopted', (session, agentSecret) => this.attach(session, agentSecret));
    sessions.on('moved', (session) => this.movedAway(session));
    sessions.onClosing = (session) => this.closing(session);
    options.users.on('changed', (user) => {
      this.rights.changed(user);
      this.checkViewersOf(user.id);
    });
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  private services(): HubServices {
    return {
      log: this.log,
      tickets: this.tickets,
      tunnels: this.tunnels,
      store: this.sessions.store,
      now: this.now,
      stopped: () => this.stopped,
      updateStatus: (live) => this.updateStatus(live),
      partyEvent: (live, action, actor, detail) => this.partyEvent(live, action, actor, detail),
      storeFailed: (live, err) => this.storeFailed(live, err),
    };
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
    // `reason` lets our agent tell a restart (reconnect) from the end of the session (exit).
    const restart: Teardown = { code: CloseCode.RESTARTING, reason: 'Broker restarting', farewell: 'shutdown' };
    await Promise.all([...this.live.values()].map((live) => this.tearDown(live, restart)));
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

  /** The customer's agent (see AgentSocket). */
  agentConnected(session: Session, ws: WebSocket, resuming: boolean, address: string | null = null): SignalHandler | undefined {
    const live = this.live.get(session.id);
    if (!live) return void ws.close(CloseCode.SESSION_GONE, 'Session closed');
    return this.agents.connected(live, ws, resuming, address);
  }

  /** An IT member's viewer (the token was checked, and the user may open this session). */
  viewerConnected(session: Session, ws: WebSocket, login: ViewerLogin, address: string | null = null): SignalHandler | undefined {
    const live = this.live.get(session.id);
    if (!live) return void ws.close(CloseCode.SESSION_GONE, 'Session closed');
    return this.viewers.connected(live, session, ws, login, address);
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

  /** Cuts off the viewers (of one user, after a change to it) whose user as last read no longer allows them. */
  private checkViewers(live: LiveSession, userId?: number): void {
    for (const viewer of [...live.viewers.values()]) {
      if (userId !== undefined && viewer.user.id !== userId) continue;
      const code = this.rights.knownRefusal(live, viewer, (err) => this.storeFailed(live, err));
      if (code === undefined) continue;
      this.log.info({ session_id: live.id, viewer_id: viewer.id, close_code: code }, 'viewer cut off: no longer allowed');
      this.viewers.drop(live, viewer, true);
      viewer.ws.close(
        code,
        code === CloseCode.FORBIDDEN ? 'You may no longer open this session' : 'Your login is no longer valid: log in again',
      );
    }
  }

  private checkViewersOf(userId: number): void {
    if (this.stopped) return;
    for (const live of [...this.live.values()]) this.checkViewers(live, userId);
    this.tunnels.recheck(userId);
  }

  /** The IT members connected here now: viewers and tunnel streams. */
  private connectedUsers(): Set<number> {
    const ids = this.tunnels.userIds();
    for (const live of this.live.values()) for (const viewer of live.viewers.values()) ids.add(viewer.user.id);
    return ids;
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    this.handshakes.prune();
    // One read per connected user, then every viewer and stream is checked against what was read.
    const read = await this.rights.reread(this.connectedUsers()).then(
      () => true,
      (err: Error) => void this.log.error({ err }, 'database error'),
    );
    if (this.stopped) return;
    if (read) this.tunnels.recheck();
    for (const live of [...this.live.values()]) {
      if (read) this.checkViewers(live);
      void this.updateStatus(live);
      void this.expireIfIdle(live);
    }
  }

  // ------------------------------------------------------------------------------ relays, status

  /** `agentSecret`: the stored one after a restart or a takeover; a new session has none. */
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
      agentSince: 0,
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
    await this.tearDown(live, { code: CloseCode.NORMAL, reason: 'Session closed', farewell: 'closed', tellDisconnect: true });
    this.log.info({ session_id: live.id }, 'session closed: relay unpinned every party');
    for (const viewer of [...live.viewers.values()]) this.viewers.drop(live, viewer, false);
  }

  /**
   * Another node took the session (this one was thought dead): its relay here stops and its port
   * is freed; whoever was connected here reconnects, and the lookup names the new node's port.
   */
  private movedAway(session: Session): void {
    const live = this.live.get(session.id);
    if (!live) return;
    void this.tearDown(live, { code: CloseCode.RESTARTING, reason: 'Session moved to another broker node' });
    this.sessions.releaseMovedPort(live.udpPort);
    this.log.warn({ session_id: live.id, node_id: session.node_id }, 'session taken over by another node: relay stopped here');
  }

  /**
   * What a session's end here (closed, moved away, broker stopping) does to its parties: it
   * leaves the live map (its counters join the totals first, so a scrape never sees them dip),
   * its tickets and tunnels end, its WebSockets close with `code`, the relay may say goodbye over
   * UDP, and it lets go of the socket. Without a farewell it all happens before the first await.
   */
  private async tearDown(live: LiveSession, how: Teardown): Promise<void> {
    this.retire(live);
    this.tickets.revokeSession(live.id);
    this.tunnels.sessionGone(live.id, how.code, how.reason);
    for (const ws of this.sockets(live)) {
      if (how.tellDisconnect) ws.send(Signal.disconnect());
      ws.close(how.code, how.reason);
    }
    if (how.farewell) await live.relay.broadcast({ type: 'disconnect', reason: how.farewell });
    live.relay.detach();
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
      // Held by this node in the update too: another node may take it over in between.
      if (next !== current.status) await this.sessions.setStatus(live.id, next as Exclude<SessionStatus, 'closed'>, this.sessions.nodeId);
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

/** How a session's parties are let go (see tearDown). */
interface Teardown {
  /** The WebSocket close code, and its reason. */
  code: number;
  reason: string;
  /** The UDP goodbye the relay broadcasts first, when any. */
  farewell?: 'shutdown' | 'closed';
  /** Whether each WebSocket is sent a `disconnect` message before it closes. */
  tellDisconnect?: boolean;
}

function addCounters(into: RelayCounters, from: RelayCounters): void {
  for (const name of Object.keys(into) as (keyof RelayCounters)[]) into[name] += from[name];
}

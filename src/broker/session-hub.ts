// Live state of every open session: its UDP relay, the agent's WebSocket, the viewers' WebSockets.
// Owns the status rule: a session is `active` while the agent's WebSocket is connected and its UDP
// stream (once started) has not gone silent; `disconnected` when either fails after it was joined.
import type { WebSocket } from 'ws';
import { Signal, type SessionStatus } from '../protocol/index.js';
import type { Session } from './session-store.js';
import type { SessionManager } from './session-manager.js';
import { SessionRelay, type RelayCounters } from './session-relay.js';
import { TicketBook } from './relay-tickets.js';
import type { UserWithSecrets } from './users.js';

export interface ViewerConnection {
  ws: WebSocket;
  user: UserWithSecrets;
}

interface LiveSession {
  id: number;
  code: string;
  relay: SessionRelay;
  agent: WebSocket | undefined;
  viewers: Set<ViewerConnection>;
  /** Last datagram from the pinned agent; 0 before its UDP stream started. */
  agentUdpSeenAt: number;
}

export interface SessionHubOptions {
  /** How long the agent's UDP stream may stay silent before the session counts as disconnected. */
  agentTimeoutMs: number;
  now?: () => number;
}

// Interim until the key exchange lands (docs/security.md): a placeholder of the right shape.
const INTERIM_COMMITMENT = 'A'.repeat(43);

export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_REPLACED = 4000;

export class SessionHub {
  readonly tickets: TicketBook;
  private readonly live = new Map<number, LiveSession>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  /** Set by stop(): WebSocket close events that arrive after it must not touch the (closed) database. */
  private stopped = false;

  constructor(
    private readonly sessions: SessionManager,
    private readonly options: SessionHubOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.tickets = new TicketBook(this.now);
    sessions.on('created', (session) => this.attach(session));
    sessions.on('status', (session) => this.statusChanged(session));
    sessions.onClosing = (session) => this.closing(session);
    this.timer = setInterval(() => this.checkSilence(), Math.max(200, Math.min(2000, options.agentTimeoutMs / 4)));
    this.timer.unref();
  }

  /** Attaches relays to the sessions that are live now (after the manager re-claimed their ports). */
  start(): void {
    for (const session of this.sessions.store.live()) this.attach(session);
  }

  /** On broker shutdown: tell both sides over UDP and WebSocket, so they reconnect when it is back. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all(
      [...this.live.values()].map(async (live) => {
        // `reason` lets our agent tell a restart (reconnect) from the end of the session (exit).
        await live.relay.broadcast({ type: 'disconnect', reason: 'shutdown' });
        for (const ws of this.sockets(live)) ws.close(1012, 'Broker restarting');
        live.relay.detach();
      }),
    );
    this.live.clear();
  }

  counters(sessionId: number): (RelayCounters & { agent_pinned: boolean; viewers_pinned: number }) | undefined {
    const live = this.live.get(sessionId);
    return live && { ...live.relay.counters, agent_pinned: !!live.relay.agentEndpoint, viewers_pinned: live.relay.viewerCount };
  }

  agentConnected(session: Session, ws: WebSocket): void {
    const live = this.live.get(session.id);
    if (!live) return void ws.close(CLOSE_POLICY_VIOLATION, 'Session closed');
    if (live.agent && live.agent !== ws) live.agent.close(CLOSE_REPLACED, 'Replaced by a new agent connection');
    live.agent = ws;
    for (const viewer of live.viewers)
      ws.send(Signal.viewer(1, viewer.user.full_name ?? viewer.user.email, viewer.user.email, INTERIM_COMMITMENT));
    ws.once('close', () => {
      if (live.agent !== ws) return;
      live.agent = undefined;
      this.updateStatus(live);
    });
    this.updateStatus(live);
  }

  viewerConnected(session: Session, ws: WebSocket, user: UserWithSecrets): void {
    const live = this.live.get(session.id);
    if (!live) return void ws.close(CLOSE_POLICY_VIOLATION, 'Session closed');
    const viewer = { ws, user };
    live.viewers.add(viewer);
    ws.once('close', () => live.viewers.delete(viewer));
    ws.send(Signal.udpTicket(session.udp_port, this.tickets.issue(session.id, user.id)));
    ws.send(Signal.status(this.sessions.store.byId(session.id)?.status ?? session.status));
    // The customer learns who is asking before anything is shown or controlled.
    live.agent?.send(Signal.viewer(1, user.full_name ?? user.email, user.email, INTERIM_COMMITMENT));
  }

  private attach(session: Session): void {
    const socket = this.sessions.socketFor(session);
    if (!socket || this.live.has(session.id)) return;
    const live: LiveSession = {
      id: session.id,
      code: session.session_code,
      agent: undefined,
      viewers: new Set(),
      agentUdpSeenAt: 0,
      relay: undefined!,
    };
    live.relay = new SessionRelay(socket, {
      sessionId: session.id,
      sessionCode: session.session_code,
      now: this.now,
      redeemTicket: (ticket) => this.tickets.redeem(ticket, session.id),
      events: {
        agentSeen: () => {
          const wasSilent = this.udpSilent(live);
          live.agentUdpSeenAt = this.now();
          if (wasSilent) this.updateStatus(live);
        },
      },
    });
    this.live.set(session.id, live);
  }

  private statusChanged(session: Session): void {
    const live = this.live.get(session.id);
    if (!live) return;
    for (const viewer of live.viewers) viewer.ws.send(Signal.status(session.status));
  }

  private async closing(session: Session): Promise<void> {
    const live = this.live.get(session.id);
    if (!live) return;
    this.live.delete(session.id);
    this.tickets.revokeSession(session.id);
    for (const ws of this.sockets(live)) {
      ws.send(Signal.disconnect());
      ws.close(1000, 'Session closed');
    }
    await live.relay.broadcast({ type: 'disconnect' });
    live.relay.detach();
  }

  private udpSilent(live: LiveSession): boolean {
    return live.agentUdpSeenAt > 0 && this.now() - live.agentUdpSeenAt > this.options.agentTimeoutMs;
  }

  private checkSilence(): void {
    for (const live of this.live.values()) this.updateStatus(live);
  }

  private updateStatus(live: LiveSession): void {
    if (this.stopped) return;
    const current = this.sessions.store.byId(live.id);
    if (!current || current.status === 'closed') return;
    const connected = live.agent !== undefined && !this.udpSilent(live);
    let next: SessionStatus = current.status;
    if (connected) next = 'active';
    else if (current.status === 'active') next = 'disconnected';
    if (next !== current.status) this.sessions.setStatus(live.id, next as Exclude<SessionStatus, 'closed'>);
  }

  private sockets(live: LiveSession): WebSocket[] {
    return [...(live.agent ? [live.agent] : []), ...[...live.viewers].map((v) => v.ws)];
  }
}

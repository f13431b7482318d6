// The session lifecycle: create (code + held UDP port), status changes, close, expiry of pending
// sessions nobody joined, and re-claiming live sessions' ports after a restart. Emits 'status'
// (session, origin) on every change so the signalling and relay layers can follow.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:dgram';
import type { Actor, AuditLog } from './audit-log.js';
import { SYSTEM_ACTOR } from './audit-log.js';
import { isoNow } from './database.js';
import { Errors } from './errors.js';
import { type NewSession, type Session, type SessionStatus, SessionStore } from './session-store.js';
import { type UdpPortPool, formatPortRange } from './udp-port-pool.js';
import type { UserWithSecrets } from './users.js';

export interface SessionManagerEvents {
  created: [session: Session];
  status: [session: Session, origin: StatusOrigin];
  /** A session of a dead node now lives here, on a port of this node (with its agent secret, once an agent joined). */
  adopted: [session: Session, agentSecret: string | undefined];
  /** Another node took this session: whatever this node still holds for it goes. */
  moved: [session: Session];
}

/** Where a status change was made: here, or on another node (this one only follows it, and tells nobody). */
export type StatusOrigin = 'local' | 'remote';

export interface SessionManagerOptions {
  /** Pending sessions nobody joined within this many ms become closed. */
  pendingTimeoutMs: number;
  /** This node: it creates sessions on its own UDP ports and re-claims, expires and frees only its own. */
  nodeId: string;
  log?: (message: string) => void;
}

/** Runs before a closing session's port is released (the relay says goodbye on it). */
export type ClosingHook = (session: Session) => Promise<void>;

export class SessionManager extends EventEmitter<SessionManagerEvents> {
  private sweepTimer: NodeJS.Timeout | undefined;
  onClosing: ClosingHook | undefined;

  constructor(
    readonly store: SessionStore,
    private readonly ports: UdpPortPool,
    private readonly audit: AuditLog,
    private readonly options: SessionManagerOptions,
  ) {
    super();
  }

  /** Re-binds the ports of sessions that were live when the broker stopped, then starts expiry. */
  async start(): Promise<void> {
    for (const session of await this.store.live(this.options.nodeId)) {
      const socket = await this.ports.claim(session.udp_port);
      if (!socket) {
        this.options.log?.(`session ${session.id}: UDP port ${session.udp_port} is taken by another program; closing it`);
        await this.close(session, SYSTEM_ACTOR, 'session.close_port_lost');
        continue;
      }
      // Nobody is connected right after a start: the sides re-join and re-pin.
      if (session.status === 'active') await this.setStatus(session.id, 'disconnected');
    }
    await this.expirePending();
    const every = Math.min(30_000, Math.max(250, this.options.pendingTimeoutMs / 4));
    this.sweepTimer = setInterval(() => {
      this.expirePending().catch((err: Error) => this.options.log?.(`expiring pending sessions: ${err.message}`));
    }, every);
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    this.ports.releaseAll();
  }

  /** The session's UDP socket, when this node holds it (another node's session may use the same port number). */
  socketFor(session: Session): Socket | undefined {
    return session.node_id === this.options.nodeId ? this.ports.socket(session.udp_port) : undefined;
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  async create(owner: UserWithSecrets, request: Omit<NewSession, 'tech_user_id' | 'udp_port' | 'node_id'>, actor: Actor): Promise<Session> {
    if ((await this.store.liveCountFor(owner.id)) >= owner.max_sessions) throw Errors.tooManySessions(owner.max_sessions);
    const allocated = await this.ports.allocate();
    if (!allocated) throw Errors.noUdpPort(formatPortRange(this.ports.range));
    try {
      const session = await this.insertWithinLimit(owner, {
        tech_user_id: owner.id,
        udp_port: allocated.port,
        node_id: this.options.nodeId,
        ...request,
      });
      await this.audit.record(actor, {
        action: 'session.create',
        target_type: 'session',
        target_id: session.id,
        detail: {
          session_code: session.session_code,
          udp_port: session.udp_port,
          owner_id: owner.id,
          ...(session.allow_unencrypted_agent ? { allow_unencrypted_agent: true } : {}),
        },
      });
      this.emit('created', session);
      return session;
    } catch (err) {
      this.ports.release(allocated.port);
      throw err;
    }
  }

  /**
   * Counts and inserts in one transaction that holds the owner's lock: concurrent requests (on
   * any node) cannot exceed max_sessions together. The limit read is the stored one, not the
   * caller's copy, so a lowered limit holds at once.
   */
  private insertWithinLimit(owner: UserWithSecrets, input: NewSession): Promise<Session> {
    return this.store.db.transaction(async (tx) => {
      await tx.lock(`sessions.owner:${owner.id}`);
      const limit = (await tx.get<{ max_sessions: number }>('SELECT max_sessions FROM users WHERE id = ?', [owner.id]))?.max_sessions;
      const max = limit ?? owner.max_sessions;
      if ((await this.store.liveCountFor(owner.id, tx)) >= max) throw Errors.tooManySessions(max);
      return this.store.insert(input, tx);
    });
  }

  /**
   * Changes a live session's status; returns the changed row, or undefined when nothing changed
   * (same status, closed, or no longer held by node `heldBy` when that is given).
   */
  async setStatus(id: number, status: Exclude<SessionStatus, 'closed'>, heldBy?: string): Promise<Session | undefined> {
    const changed = await this.store.setStatus(id, status, heldBy);
    if (changed) this.emit('status', changed, 'local');
    return changed;
  }

  /** Closes a session for good and frees its port. A closed session stays closed. */
  async close(session: Session, actor: Actor, action = 'session.close'): Promise<Session> {
    const closed = await this.store.setStatus(session.id, 'closed');
    if (!closed) return (await this.store.byId(session.id))!;
    await this.audit.record(actor, {
      action,
      target_type: 'session',
      target_id: session.id,
      detail: { session_code: session.session_code },
    });
    this.emit('status', closed, 'local');
    await this.released(closed);
    return closed;
  }

  /** Its relay says goodbye and its port is freed, on the node that holds it only. */
  private async released(closed: Session): Promise<void> {
    if (closed.node_id !== this.options.nodeId) return;
    await this.onClosing?.(closed).catch((err: Error) => this.options.log?.(`session ${closed.id}: ${err.message}`));
    this.ports.release(closed.udp_port);
  }

  /**
   * Another node changed this session's row (closed it, marked it disconnected): this node
   * follows the row as if the change were its own. Sessions other nodes hold are theirs to follow.
   */
  async followRemoteChange(id: number): Promise<void> {
    const session = await this.store.byId(id);
    if (session && session.node_id !== this.options.nodeId) return void this.emit('moved', session);
    if (!session) return;
    if (!this.socketFor(session)) return;
    this.emit('status', session, 'remote');
    if (session.status === 'closed') await this.released(session);
  }

  /** A node stopped beating: its active sessions are disconnected until it comes back. */
  async markNodeDown(nodeId: string): Promise<number> {
    let marked = 0;
    for (const session of await this.store.live(nodeId)) {
      if (session.status === 'active' && (await this.setStatus(session.id, 'disconnected', nodeId))) marked++;
    }
    return marked;
  }

  /**
   * A node stopped beating: its sessions with `status` move to this node with a port of its own,
   * so their codes still work wherever the customer's agent lands. Pending ones (no agent yet) move
   * at once; disconnected ones once the node stayed away long enough (cluster-node.ts), with their
   * agent secret, so the agent resumes here. The creation time stays, so a pending session expires
   * as it would have. Returns how many this node took.
   */
  async adoptFrom(nodeId: string, status: 'pending' | 'disconnected', silentSince: number): Promise<number> {
    let adopted = 0;
    for (const session of await this.store.live(nodeId)) {
      if (session.status === status && (await this.adopt(session, status, silentSince))) adopted++;
    }
    return adopted;
  }

  private async adopt(session: Session, status: 'pending' | 'disconnected', silentSince: number): Promise<boolean> {
    const allocated = await this.ports.allocate();
    if (!allocated) {
      this.options.log?.(`session ${session.id}: no free UDP port to take it over from node ${session.node_id}`);
      return false;
    }
    const move = { from: session.node_id, to: this.options.nodeId, udpPort: allocated.port, status, silentSince };
    const moved = await this.store.moveToNode(session.id, move).catch((err: Error) => {
      this.ports.release(allocated.port);
      throw err;
    });
    if (!moved) {
      this.ports.release(allocated.port);
      return false;
    }
    // The relay is there before anything awaits: a client that looks the session up now finds it.
    this.emit('adopted', moved.session, moved.agentSecret);
    await this.audit.record(SYSTEM_ACTOR, {
      action: 'session.adopt',
      target_type: 'session',
      target_id: session.id,
      detail: { session_code: session.session_code, from_node: session.node_id, udp_port: allocated.port, status },
    });
    return true;
  }

  /** Frees the port a session that moved to another node held here. */
  releaseMovedPort(port: number): void {
    this.ports.release(port);
  }

  async expirePending(now = Date.now()): Promise<void> {
    const cutoff = isoNow(now - this.options.pendingTimeoutMs);
    for (const session of await this.store.pendingCreatedBefore(cutoff, this.options.nodeId))
      await this.close(session, SYSTEM_ACTOR, 'session.expire');
  }
}

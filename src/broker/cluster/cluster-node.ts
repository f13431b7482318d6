// This `rac serve` as one node of a database: its id and addresses, its row and heartbeat, the bus
// to the other nodes, and where to pass a WebSocket whose session another node holds. With SQLite
// it is the only node: the bus stays in-process and every session is its own.
import type { BrokerLogger } from '../broker-log.js';
import type { Session } from '../session-store.js';
import type { SqlDatabase } from '../sql/sql-database.js';
import { type ClusterBus, LocalBus } from './cluster-bus.js';
import { ClusterSync, type SyncedStores } from './cluster-sync.js';
import { forwardedHeaders, forwardingKey } from './forwarded-address.js';
import { NODE_DEAD_AFTER_MS, type NodeInfo, NodeRegistry } from './node-registry.js';
import { type RelayFigures, ownerRelayCounters } from './owner-stats.js';
import { PostgresBus } from './postgres-bus.js';

/**
 * How long a node stays dead (after NODE_DEAD_AFTER_MS without a heartbeat) before the other nodes
 * take over its disconnected sessions: long enough for a restart to take them back itself.
 */
export const TAKEOVER_AFTER_MS = 30_000;

export interface NodeAddresses {
  publicUrl: string;
  /** --relay-host; the host of publicUrl when absent. */
  relayHost?: string;
  /** --internal-url; the listen URL when absent. */
  internalUrl?: string;
  /** The URL the node listens on (after listen). */
  listenUrl: string;
}

export class ClusterNode {
  private registry: NodeRegistry | undefined;
  /**
   * Whether clients are told where the relay is: with several nodes (PostgreSQL) or an explicit
   * --relay-host. A single node without one leaves it out, so its clients keep sending UDP to the
   * host they reached it by (a LAN name, say, where the public name would not loop back).
   */
  private announcesRelay = false;
  /** Dead nodes whose disconnected sessions this node takes over when their timer fires. */
  private readonly takeovers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  /** Proves to the owner node the client address this node vouches for. */
  readonly forwardKey: Buffer;

  private constructor(
    readonly id: string,
    private readonly db: SqlDatabase,
    private readonly bus: ClusterBus,
    private readonly sync: ClusterSync,
    private readonly sessions: SyncedStores['sessions'],
    jwtKey: Buffer,
    private readonly log: BrokerLogger,
  ) {
    this.forwardKey = forwardingKey(jwtKey);
  }

  static async start(
    db: SqlDatabase,
    options: { nodeId: string; databaseUrl?: string; jwtKey: Buffer; log: BrokerLogger },
    stores: SyncedStores,
  ): Promise<ClusterNode> {
    const warn = (message: string) => options.log.warn(message);
    const bus = options.databaseUrl
      ? await PostgresBus.connect(options.databaseUrl, options.nodeId, { log: warn })
      : new LocalBus(options.nodeId);
    const sync = new ClusterSync(bus, stores, warn);
    const node = new ClusterNode(options.nodeId, db, bus, sync, stores.sessions, options.jwtKey, options.log);
    node.announcesRelay = options.databaseUrl !== undefined;
    return node;
  }

  /**
   * A node that stopped beating: its active sessions are disconnected; its pending ones (nobody
   * joined yet) move to this node at once, so their codes keep working. If it is still away
   * TAKEOVER_AFTER_MS later, its disconnected sessions move here too (see takeOver).
   */
  private async nodeDead(dead: NodeInfo): Promise<void> {
    // Armed before anything awaits: a database error below must not cancel the takeover.
    this.armTakeover(dead);
    const marked = await this.sessions.markNodeDown(dead.id);
    const adopted = await this.sessions.adoptFrom(dead.id, 'pending', silentSince());
    this.log.warn(
      { node_id: dead.id, sessions: marked, adopted },
      'node stopped beating: its active sessions are disconnected, its pending sessions taken over',
    );
  }

  private armTakeover(dead: NodeInfo): void {
    if (this.stopped) return;
    clearTimeout(this.takeovers.get(dead.id));
    const timer = setTimeout(() => {
      this.takeovers.delete(dead.id);
      this.takeOver(dead).catch((err: Error) => this.log.error({ err }, 'taking over a dead node failed'));
    }, TAKEOVER_AFTER_MS);
    timer.unref();
    this.takeovers.set(dead.id, timer);
  }

  /**
   * The node stayed away: its disconnected sessions move here with new ports and their agent
   * secrets; their agents and viewers, reconnecting through any node, are served here and told
   * the new port as at a first join. A node that beats again meanwhile keeps its sessions (the
   * move is conditional on the row too: one node wins, and a session active again stays put).
   */
  private async takeOver(dead: NodeInfo): Promise<void> {
    if (this.stopped || !this.registry?.isDead(dead.id)) return;
    // The registry's view is up to a second old: the move itself checks the heartbeat again.
    const adopted = await this.sessions.adoptFrom(dead.id, 'disconnected', silentSince());
    if (adopted > 0) this.log.warn({ node_id: dead.id, adopted }, 'node still away: its disconnected sessions taken over');
  }

  /** Writes this node's row with its addresses (known once it listens) and starts the heartbeat. */
  async register(addresses: NodeAddresses): Promise<void> {
    if (addresses.relayHost) this.announcesRelay = true;
    const self: NodeInfo = {
      id: this.id,
      public_url: addresses.publicUrl,
      relay_host: addresses.relayHost ?? hostOf(addresses.publicUrl),
      internal_url: addresses.internalUrl ?? addresses.listenUrl,
    };
    this.registry = new NodeRegistry(this.db, self, {
      onNodeDead: (dead) => void this.nodeDead(dead).catch((err: Error) => this.log.error({ err }, 'marking a dead node failed')),
      log: (message) => this.log.warn(message),
    });
    await this.registry.start();
  }

  /** Where UDP clients send this session's datagrams; undefined: where they reached the broker. */
  relayHostOf(session: Session): string | undefined {
    if (!this.announcesRelay) return undefined;
    return this.registry?.relayHostOf(session.node_id);
  }

  /** This node's relay as clients are told it: what viewers' UDP tickets name. */
  get relayHost(): string | undefined {
    return this.announcesRelay ? this.registry?.relayHostOf(this.id) : undefined;
  }

  /** The node to pass the session's WebSockets to, or undefined when this node holds it. */
  async ownerOf(session: Session): Promise<NodeInfo | undefined> {
    if (session.node_id === this.id || session.status === 'closed') return undefined;
    return this.registry?.byId(session.node_id);
  }

  /**
   * The relay counters of a session another node holds, asked of that node with the caller's
   * Authorization header; null when this node holds it or the owner does not answer.
   */
  async ownerRelayCounters(session: Session, authorization: string, clientAddress: string): Promise<RelayFigures | null> {
    const owner = await this.ownerOf(session);
    if (!owner) return null;
    return ownerRelayCounters(owner, session.id, { authorization, ...forwardedHeaders(this.forwardKey, clientAddress) });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.takeovers.values()) clearTimeout(timer);
    this.takeovers.clear();
    this.registry?.stop();
    this.sync.stop();
    await this.bus.close();
  }
}

/** The host part of a URL, without IPv6 brackets. */
export function hostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

/** A node whose last heartbeat is older than this (ms since the epoch) is dead to the others. */
function silentSince(): number {
  return Date.now() - NODE_DEAD_AFTER_MS;
}

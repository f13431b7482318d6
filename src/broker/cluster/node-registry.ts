// The nodes of one database: each `rac serve` has a row with its addresses and a heartbeat it
// refreshes every second. A node whose heartbeat stopped for NODE_DEAD_AFTER_MS is dead to the
// others (they mark its sessions disconnected, and take them over if it stays away: cluster-node.ts);
// it comes back by beating again under the same id.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { SqlDatabase } from '../sql/sql-database.js';

export const HEARTBEAT_INTERVAL_MS = 1000;
/** Missed heartbeats for this long mean the node is gone (a crash, a cut network). */
export const NODE_DEAD_AFTER_MS = 5000;

export interface NodeInfo {
  id: string;
  /** Where customers and IT members reach this node (mails, the join page). */
  public_url: string;
  /** The address UDP clients send the session's datagrams to. */
  relay_host: string;
  /** Where the other nodes reach this one (WebSocket proxying). */
  internal_url: string;
}

interface NodeRow extends NodeInfo {
  started_at: number;
  heartbeat_at: number;
}

/**
 * The default node id: the machine's name and the HTTP port, so a node restarted on the same
 * machine and port is the same node (it re-claims its sessions' UDP ports). With port 0 (any free
 * port) the data dir stands in for the port: still the same node after a restart.
 */
export function defaultNodeId(port: number, dataDir: string, host = hostname()): string {
  const name = host.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  const where = port !== 0 ? String(port) : `dir-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
  return `${name}:${where}`;
}

export interface NodeRegistryOptions {
  /** Called once each time another node's heartbeat is found stale. */
  onNodeDead?: (node: NodeInfo) => void;
  log?: (message: string) => void;
}

export class NodeRegistry {
  private timer: NodeJS.Timeout | undefined;
  /** Nodes already reported dead (reported again only after they beat again). */
  private readonly dead = new Set<string>();
  /** Every node's row as last read (each heartbeat reads them all). */
  private readonly known = new Map<string, NodeInfo>();

  constructor(
    private readonly db: SqlDatabase,
    readonly self: NodeInfo,
    private readonly options: NodeRegistryOptions = {},
  ) {}

  /**
   * Writes this node's row (addresses may have changed since its last start) and, on PostgreSQL,
   * starts beating. A SQLite broker is the only node: nobody reads its beat, and the rows of ids it
   * ran under before would be reported dead.
   */
  async start(): Promise<void> {
    const now = Date.now();
    const { id, public_url, relay_host, internal_url } = this.self;
    await this.db.run(
      `INSERT INTO nodes (id, public_url, relay_host, internal_url, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET public_url = excluded.public_url, relay_host = excluded.relay_host,
         internal_url = excluded.internal_url, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
      [id, public_url, relay_host, internal_url, now, now],
    );
    if (this.db.engine !== 'postgres') return;
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The address UDP clients use for a node's sessions (this node's when the node is not known yet). */
  relayHostOf(id: string): string {
    return id === this.self.id ? this.self.relay_host : (this.known.get(id)?.relay_host ?? this.self.relay_host);
  }

  /** Whether the node was found stale at the last look and has not beaten since. */
  isDead(id: string): boolean {
    return this.dead.has(id);
  }

  async byId(id: string): Promise<NodeInfo | undefined> {
    const row = await this.db.get<NodeRow>('SELECT * FROM nodes WHERE id = ?', [id]);
    return row && info(row);
  }

  /** One heartbeat, then a look for nodes that stopped beating. */
  async beat(): Promise<void> {
    try {
      await this.db.run('UPDATE nodes SET heartbeat_at = ? WHERE id = ?', [Date.now(), this.self.id]);
      await this.findDead();
    } catch (err) {
      this.options.log?.(`node heartbeat failed: ${(err as Error).message}`);
    }
  }

  private async findDead(): Promise<void> {
    const rows = await this.db.all<NodeRow>('SELECT * FROM nodes WHERE id <> ?', [this.self.id]);
    for (const row of rows) {
      this.known.set(row.id, info(row));
      const stale = Date.now() - Number(row.heartbeat_at) > NODE_DEAD_AFTER_MS;
      if (!stale) {
        this.dead.delete(row.id);
      } else if (!this.dead.has(row.id)) {
        this.dead.add(row.id);
        this.options.onNodeDead?.(info(row));
      }
    }
  }
}

const info = (row: NodeRow): NodeInfo => ({
  id: row.id,
  public_url: row.public_url,
  relay_host: row.relay_host,
  internal_url: row.internal_url,
});

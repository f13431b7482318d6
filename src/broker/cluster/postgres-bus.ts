// The cluster bus on PostgreSQL: LISTEN/NOTIFY on one dedicated connection (a pooled one would
// lose its LISTEN when returned). When the connection drops it reconnects with a backoff,
// LISTENs again and sends what was published meanwhile (events sent by other nodes while it was
// away are lost: NOTIFY is not stored; the hub's sweep re-reads the sessions and users it follows).
import pg from 'pg';
import { backoffDelay } from '../../shared/backoff.js';
import { type ClusterBus, type ClusterHandler, ClusterListeners } from './cluster-bus.js';
import { type ClusterEvent, encodeClusterMessage, parseClusterMessage } from './cluster-events.js';

export const CLUSTER_CHANNEL = 'rac_cluster';

/** How the bus connection names itself in pg_stat_activity (63 bytes at most). */
export const busApplicationName = (nodeId: string): string => `rac-bus ${nodeId}`.slice(0, 63);
/** Events published while the connection is down wait here; older ones are dropped past this. */
const MAX_QUEUED_EVENTS = 1000;

export interface PostgresBusOptions {
  /** Where connection losses and handler errors go (never the URL: it may hold a password). */
  log?: (message: string) => void;
}

export class PostgresBus implements ClusterBus {
  private client: pg.Client | undefined;
  private readonly queue: string[] = [];
  private readonly listeners: ClusterListeners;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly url: string,
    readonly nodeId: string,
    private readonly options: PostgresBusOptions,
  ) {
    this.listeners = new ClusterListeners((err) => this.log(`cluster event handler failed: ${String(err)}`));
  }

  /** Connects and LISTENs; throws when the first connection fails (a wrong URL stops the start). */
  static async connect(url: string, nodeId: string, options: PostgresBusOptions = {}): Promise<PostgresBus> {
    const bus = new PostgresBus(url, nodeId, options);
    bus.client = await bus.open();
    return bus;
  }

  async publish(event: ClusterEvent): Promise<void> {
    const payload = encodeClusterMessage({ ...event, from: this.nodeId });
    if (this.closed) return;
    if (!this.client) return this.enqueue(payload);
    try {
      await this.client.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, payload]);
    } catch {
      // The connection is going: the reconnect sends it.
      this.enqueue(payload);
    }
  }

  subscribe(handler: ClusterHandler): () => void {
    return this.listeners.subscribe(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async open(): Promise<pg.Client> {
    // The application name lets an operator find (and a test cut) each node's bus connection.
    const client = new pg.Client({ connectionString: this.url, application_name: busApplicationName(this.nodeId) });
    client.on('notification', (note) => {
      const message = note.channel === CLUSTER_CHANNEL && note.payload ? parseClusterMessage(note.payload) : undefined;
      if (message) this.listeners.deliver(message);
    });
    // Either event means this connection is finished; `lost` runs once per connection.
    let ended = false;
    const lost = (reason: string) => {
      if (ended) return;
      ended = true;
      void client.end().catch(() => undefined);
      this.lost(client, reason);
    };
    client.on('error', (err) => lost(err.message));
    client.on('end', () => lost('connection closed'));
    try {
      await client.connect();
      await client.query(`LISTEN ${CLUSTER_CHANNEL}`);
    } catch (err) {
      ended = true;
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  private lost(client: pg.Client, reason: string): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.log(`cluster bus: lost its database connection (${reason}); reconnecting`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt++, 250);
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
    this.reconnectTimer.unref();
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    let client: pg.Client;
    try {
      client = await this.open();
    } catch (err) {
      this.log(`cluster bus: reconnect failed (${(err as Error).message}); trying again`);
      return this.scheduleReconnect();
    }
    if (this.closed) return void client.end().catch(() => undefined);
    this.client = client;
    this.attempt = 0;
    this.log('cluster bus: reconnected');
    await this.flush();
  }

  private async flush(): Promise<void> {
    while (this.client && this.queue.length > 0) {
      const payload = this.queue[0]!;
      try {
        await this.client.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, payload]);
      } catch {
        return;
      }
      this.queue.shift();
    }
  }

  private enqueue(payload: string): void {
    this.queue.push(payload);
    if (this.queue.length > MAX_QUEUED_EVENTS) this.queue.shift();
  }

  private log(message: string): void {
    this.options.log?.(message);
  }
}

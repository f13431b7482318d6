// Publish/subscribe between the `rac serve` nodes of one database. Every node hears every event,
// its own included (handlers skip their own by `from`). The local bus is for one node (SQLite):
// it delivers in-process. The PostgreSQL bus is in postgres-bus.ts.
import { EventEmitter } from 'node:events';
import { type ClusterEvent, type ClusterMessage, encodeClusterMessage } from './cluster-events.js';

export type ClusterHandler = (message: ClusterMessage) => void;

export interface ClusterBus {
  /** This node's id: the `from` of what it publishes. */
  readonly nodeId: string;
  /** Sends an event to every node. Resolves once it is handed over (not once it is heard). */
  publish(event: ClusterEvent): Promise<void>;
  /** Follows every event; returns the unsubscribe function. */
  subscribe(handler: ClusterHandler): () => void;
  close(): Promise<void>;
}

/** Subscribers, shared by both buses. A throwing handler does not stop the others. */
export class ClusterListeners {
  private readonly emitter = new EventEmitter<{ message: [ClusterMessage] }>();

  constructor(private readonly onHandlerError: (err: unknown) => void) {
    this.emitter.setMaxListeners(0);
  }

  subscribe(handler: ClusterHandler): () => void {
    const safe = (message: ClusterMessage) => {
      try {
        handler(message);
      } catch (err) {
        this.onHandlerError(err);
      }
    };
    this.emitter.on('message', safe);
    return () => this.emitter.off('message', safe);
  }

  deliver(message: ClusterMessage): void {
    this.emitter.emit('message', message);
  }
}

/** One node, no database to listen on: events go straight to this process's subscribers. */
export class LocalBus implements ClusterBus {
  private readonly listeners = new ClusterListeners(() => undefined);
  private closed = false;

  constructor(readonly nodeId: string) {}

  publish(event: ClusterEvent): Promise<void> {
    const message: ClusterMessage = { ...event, from: this.nodeId };
    // The same limit as on PostgreSQL: what works on one node works on several.
    try {
      encodeClusterMessage(message);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (this.closed) return Promise.resolve();
    // Delivered after the publisher's own code ran, as the PostgreSQL bus would.
    queueMicrotask(() => this.listeners.deliver(message));
    return Promise.resolve();
  }

  subscribe(handler: ClusterHandler): () => void {
    return this.listeners.subscribe(handler);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

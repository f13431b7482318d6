// What crosses the bus: a session's row changed, a user's row changed, the throttle blocked a key.
// Publishing follows the local events (SessionManager 'status', UserStore 'changed', Throttle
// onBlocked); receiving re-reads the row and raises the same local events, so the hub ends the
// connections this node holds exactly as it would for a change made here.
import type { SessionManager } from '../session-manager.js';
import type { Throttle } from '../throttle.js';
import type { UserStore } from '../users.js';
import type { ClusterBus } from './cluster-bus.js';
import type { ClusterMessage } from './cluster-events.js';

export interface SyncedStores {
  sessions: SessionManager;
  users: UserStore;
  throttle: Throttle;
}

export class ClusterSync {
  /** Set while a remote user change is raised here, so it is not published back. */
  private relayingUser = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly bus: ClusterBus,
    private readonly stores: SyncedStores,
    private readonly log: (message: string) => void,
  ) {
    // A change followed from another node was published there: sending it again would echo.
    stores.sessions.on('status', (session, origin) => {
      if (origin === 'local') this.publish({ type: 'session', id: session.id });
    });
    // The node that held it, if it was only thought dead, lets it go.
    stores.sessions.on('adopted', (session) => this.publish({ type: 'session', id: session.id }));
    stores.users.on('changed', (user) => {
      if (!this.relayingUser) this.publish({ type: 'user', id: user.id });
    });
    stores.throttle.onBlocked = (scope, key, until) => this.publish({ type: 'block', scope, key, until });
    this.unsubscribe = bus.subscribe((message) => this.received(message));
  }

  stop(): void {
    this.unsubscribe();
    this.stores.throttle.onBlocked = undefined;
  }

  private publish(event: Parameters<ClusterBus['publish']>[0]): void {
    this.bus.publish(event).catch((err: Error) => this.log(`cluster event ${event.type} not sent: ${err.message}`));
  }

  private received(message: ClusterMessage): void {
    if (message.from === this.bus.nodeId) return;
    if (message.type === 'block') return this.stores.throttle.block(message.scope, message.key, message.until);
    const work = message.type === 'session' ? this.stores.sessions.followRemoteChange(message.id) : this.userChanged(message.id);
    work.catch((err: Error) => this.log(`cluster event ${message.type} ${message.id}: ${err.message}`));
  }

  private async userChanged(id: number): Promise<void> {
    const user = await this.stores.users.byId(id);
    if (!user) return;
    this.relayingUser = true;
    try {
      this.stores.users.emit('changed', user);
    } finally {
      this.relayingUser = false;
    }
  }
}

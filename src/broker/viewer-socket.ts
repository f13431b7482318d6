// An IT member's viewer WebSocket: its id and UDP tickets, the key-exchange messages it sends the
// agent, and forgetting it everywhere at once when it goes.
import type { WebSocket } from 'ws';
import { CloseCode, Signal, type SignalMessage } from '../protocol/index.js';
import type { Actor } from './audit-log.js';
import type { HubServices, LiveSession, SignalHandler, ViewerConnection, ViewerLogin } from './live-session.js';
import type { Session } from './session-store.js';
import { ViewerIds } from './viewer-ids.js';

/** A viewer gets at most one fresh ticket this often. */
export const TICKET_REQUEST_INTERVAL_MS = 1000;

/** The `viewer` message that tells an agent who is watching and what key they committed to. */
export function viewerAnnouncement(viewer: ViewerConnection): string {
  return Signal.viewer(viewer.id, viewer.user.full_name ?? '', viewer.user.email, viewer.commitment!);
}

export class ViewerSocket {
  private readonly ids = new ViewerIds();

  constructor(
    private readonly hub: HubServices,
    private readonly options: { maxViewers: number; relayHost?: () => string | undefined },
  ) {}

  /** An IT member's viewer (the token was checked, and the user may open this session). */
  connected(live: LiveSession, session: Session, ws: WebSocket, login: ViewerLogin, address: string | null): SignalHandler | undefined {
    const max = this.options.maxViewers;
    const id = live.viewers.size < max ? this.ids.take() : undefined;
    if (id === undefined) return void ws.close(CloseCode.TOO_MANY_VIEWERS, `This session already has ${max} viewers`);
    const viewer: ViewerConnection = { ...login, id, address, ws, commitment: undefined, lastRequestAt: 0 };
    live.viewers.set(id, viewer);
    live.viewersChangedAt = this.hub.now();
    ws.once('close', () => this.drop(live, viewer, true));
    this.hub.partyEvent(live, 'session.viewer_join', viewerActor(viewer), { viewer_id: id });
    ws.send(Signal.joined(id, live.id, live.allowUnencrypted));
    this.sendTicket(live, viewer);
    void this.hub.store.byId(live.id).then(
      (current) => ws.send(Signal.status(current?.status ?? session.status)),
      (err: Error) => this.hub.storeFailed(live, err),
    );
    return (message) => this.fromViewer(live, viewer, message);
  }

  /** Forgets a viewer everywhere at once: its UDP address, its tickets, its id. Idempotent. */
  drop(live: LiveSession, viewer: ViewerConnection, tellAgent: boolean): void {
    if (live.viewers.get(viewer.id) !== viewer) return;
    live.viewers.delete(viewer.id);
    live.relay.removeViewer(viewer.id);
    this.hub.tickets.revokeViewer(viewer.id);
    this.ids.release(viewer.id);
    live.viewersChangedAt = this.hub.now();
    if (tellAgent) live.agent?.send(Signal.viewerLeft(viewer.id));
    if (!this.hub.stopped()) this.hub.partyEvent(live, 'session.viewer_leave', viewerActor(viewer), { viewer_id: viewer.id });
  }

  private fromViewer(live: LiveSession, viewer: ViewerConnection, message: SignalMessage): void {
    if (!live.viewers.has(viewer.id)) return;
    this.hub.log.debug({ session_id: live.id, viewer_id: viewer.id, type: message.type }, 'signal from viewer');
    if (message.type === 'key_commit') {
      viewer.commitment = message.commitment;
      live.agent?.send(viewerAnnouncement(viewer));
    } else if (message.type === 'viewer_key') {
      // The viewer speaks for itself only: the id is the one its connection was given.
      live.agent?.send(Signal.viewerKey(viewer.id, message.public_key));
    } else if (message.type === 'udp_ticket_request') {
      if (this.hub.now() - viewer.lastRequestAt < TICKET_REQUEST_INTERVAL_MS) return;
      viewer.lastRequestAt = this.hub.now();
      this.sendTicket(live, viewer);
    }
  }

  private sendTicket(live: LiveSession, viewer: ViewerConnection): void {
    viewer.ws.send(Signal.udpTicket(live.udpPort, this.hub.tickets.issue(live.id, viewer.id), this.options.relayHost?.()));
    this.hub.log.debug({ session_id: live.id, viewer_id: viewer.id }, 'UDP ticket issued');
  }
}

function viewerActor(viewer: ViewerConnection): Actor {
  return { id: viewer.user.id, email: viewer.user.email, address: viewer.address };
}

// Viewer tickets: how an authenticated IT member's UDP address becomes pinned on a session's port.
// A ticket is handed out over the viewer WebSocket, bound to that connection (its viewer id), valid
// for 30 s and single-use: a viewer that lost its hello asks for a fresh one (udp_ticket_request).
// Redeemed tickets are remembered until they would have expired, so a replay is told apart and counted.
import { randomBytes } from 'node:crypto';

export const TICKET_LIFETIME_MS = 30_000;

export interface Ticket {
  sessionId: number;
  viewerId: number;
  expiresAt: number;
}

export type Redemption = { ok: true; viewerId: number } | { ok: false; reason: 'unknown' | 'replayed' };

export class TicketBook {
  private readonly tickets = new Map<string, Ticket>();
  /** Redeemed ticket → when it would have expired. */
  private readonly redeemed = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(sessionId: number, viewerId: number): string {
    this.prune();
    const ticket = randomBytes(24).toString('base64url');
    this.tickets.set(ticket, { sessionId, viewerId, expiresAt: this.now() + TICKET_LIFETIME_MS });
    return ticket;
  }

  /** Consumes the ticket when it is valid for this session; a second presentation is a replay. */
  redeem(ticket: string, sessionId: number): Redemption {
    const entry = this.tickets.get(ticket);
    if (!entry || entry.sessionId !== sessionId || entry.expiresAt <= this.now()) {
      return { ok: false, reason: this.redeemed.has(ticket) ? 'replayed' : 'unknown' };
    }
    this.tickets.delete(ticket);
    this.redeemed.set(ticket, entry.expiresAt);
    return { ok: true, viewerId: entry.viewerId };
  }

  /** The viewer's connection ended: its unused tickets die with it. */
  revokeViewer(viewerId: number): void {
    for (const [ticket, entry] of this.tickets) if (entry.viewerId === viewerId) this.tickets.delete(ticket);
  }

  revokeSession(sessionId: number): void {
    for (const [ticket, entry] of this.tickets) if (entry.sessionId === sessionId) this.tickets.delete(ticket);
  }

  private prune(): void {
    const now = this.now();
    for (const [ticket, entry] of this.tickets) if (entry.expiresAt <= now) this.tickets.delete(ticket);
    for (const [ticket, expiresAt] of this.redeemed) if (expiresAt <= now) this.redeemed.delete(ticket);
  }
}

// Viewer tickets: how an authenticated IT member's UDP address becomes pinned on a session's port.
// A ticket is handed out over the viewer WebSocket, bound to one session and one user, and expires
// after a minute; within that minute it may be presented again (a lost viewer_hello is resent).
import { randomBytes } from 'node:crypto';

export const TICKET_LIFETIME_MS = 60_000;

export interface Ticket {
  sessionId: number;
  userId: number;
  expiresAt: number;
}

export class TicketBook {
  private readonly tickets = new Map<string, Ticket>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(sessionId: number, userId: number): string {
    this.prune();
    const ticket = randomBytes(24).toString('base64url');
    this.tickets.set(ticket, { sessionId, userId, expiresAt: this.now() + TICKET_LIFETIME_MS });
    return ticket;
  }

  /** The ticket's holder when it is valid for this session, else undefined. */
  redeem(ticket: string, sessionId: number): Ticket | undefined {
    const entry = this.tickets.get(ticket);
    if (!entry || entry.sessionId !== sessionId || entry.expiresAt <= this.now()) return undefined;
    return entry;
  }

  revokeSession(sessionId: number): void {
    for (const [ticket, entry] of this.tickets) if (entry.sessionId === sessionId) this.tickets.delete(ticket);
  }

  private prune(): void {
    const now = this.now();
    for (const [ticket, entry] of this.tickets) if (entry.expiresAt <= now) this.tickets.delete(ticket);
  }
}

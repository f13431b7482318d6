// What the hub holds for each open session, and what its agent and viewer sockets ask of the hub.
import type { WebSocket } from 'ws';
import type { SignalMessage } from '../protocol/index.js';
import type { Actor } from './audit-log.js';
import type { BrokerLogger } from './broker-log.js';
import type { TicketBook } from './relay-tickets.js';
import type { SessionRelay } from './session-relay.js';
import type { SessionStore } from './session-store.js';
import type { TunnelRelay } from './tunnel-relay.js';
import type { UserWithSecrets } from './users.js';

/** What the viewer's login token said when it connected: checked again for as long as it stays. */
export interface ViewerLogin {
  user: UserWithSecrets;
  tokenVersion: number;
  /** When the token expires (ms since the epoch). */
  expiresAt: number;
}

export interface ViewerConnection extends ViewerLogin {
  id: number;
  /** The client address it connected from (for the audit log). */
  address: string | null;
  ws: WebSocket;
  /** The viewer's key_commit for the current agent, passed to every agent that joins. */
  commitment: string | undefined;
  /** When it last asked for a fresh ticket (udp_ticket_request). */
  lastRequestAt: number;
}

export interface LiveSession {
  id: number;
  code: string;
  ownerId: number;
  udpPort: number;
  allowUnencrypted: boolean;
  relay: SessionRelay;
  agent: WebSocket | undefined;
  /** When the current agent connected: tunnels wait a moment after it for its host key. */
  agentSince: number;
  agentSecret: string | undefined;
  /** The reference client pinned itself with a plain handshake (it never opens a WebSocket). */
  plainAgent: boolean;
  viewers: Map<number, ViewerConnection>;
  /** Last datagram from the pinned agent; 0 before its UDP stream started. */
  agentUdpSeenAt: number;
  /** Last time a viewer came or went (or the hub took the session on). */
  viewersChangedAt: number;
}

export type SignalHandler = (message: SignalMessage) => void;

/** What the agent's and the viewers' socket handlers use of the hub. */
export interface HubServices {
  readonly log: BrokerLogger;
  readonly tickets: TicketBook;
  readonly tunnels: TunnelRelay;
  readonly store: SessionStore;
  now(): number;
  /** True once the broker stops: late close events must not touch the (closed) database. */
  stopped(): boolean;
  /** Stores the status the parties present call for. Never rejects. */
  updateStatus(live: LiveSession): Promise<void>;
  /** A party came or went: one log line, one audit record. */
  partyEvent(live: LiveSession, action: string, actor: Actor, detail?: Record<string, unknown>): void;
  storeFailed(live: LiveSession, err: Error): void;
}

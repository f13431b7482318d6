// The shapes of the broker's REST API (served as /api/openapi.json): one definition for the
// broker that serves them and the clients (CLI, viewer) that read them. Optional fields are ours,
// absent from older brokers.
export type Role = 'admin' | 'tech';
import type { SessionStatus } from './signal-messages.js';

export type { SessionStatus };
export type SecurityType = 'TLS' | 'SSL' | 'NONE';

/** Mailing a session code to the customer. */
export type EmailStatus = 'sending' | 'sent' | 'failed';

export interface LoginResponse {
  access_token: string;
  token_type: 'bearer';
  user: { id: number; email: string; full_name: string | null; role: Role };
}

export interface Session {
  id: number;
  session_code: string;
  tech_user_id: number;
  customer_name: string | null;
  customer_email: string | null;
  status: SessionStatus;
  udp_port: number;
  created_at: string;
  updated_at?: string;
  closed_at?: string | null;
  /** Mailing the code to customer_email: null when none was asked for (brokers with mail support). */
  email_status?: EmailStatus | null;
  email_error?: string | null;
  /** The session accepts the reference Windows client, whose stream is not encrypted. */
  allow_unencrypted_agent?: boolean;
  /** Where UDP clients send the session's datagrams (brokers with several nodes; else the broker's host). */
  relay_host?: string;
}

/** POST /sessions. */
export interface SessionRequest {
  customer_name?: string | null;
  customer_email?: string | null;
  /** For the reference Windows client only: its stream is then not encrypted. */
  allow_unencrypted_agent?: boolean;
}

/** POST /api/sessions answers the session and what to hand the customer (brokers that serve the agent). */
export interface CreatedSession extends Session {
  /** `npx --yes BROKER/download/rac-VERSION.tgz agent --code CODE --server BROKER` */
  customer_command?: string;
  /** BROKER/join/CODE: the same command for each system, and what the customer will see. */
  join_url?: string;
}

export interface SessionInfo {
  session_code: string;
  udp_port: number;
  status: SessionStatus;
  /** Whether the reference client's unencrypted agent may join (brokers that know the field). */
  allow_unencrypted_agent?: boolean;
  /** Where UDP clients send the session's datagrams (brokers with several nodes; else the broker's host). */
  relay_host?: string;
}

export interface User {
  id: number;
  email: string;
  full_name: string | null;
  role: Role;
  max_sessions: number;
  is_active: boolean;
  created_at: string;
}

export interface NewUser {
  email: string;
  password: string;
  full_name?: string | null;
  role?: Role;
  max_sessions?: number;
}

export interface UserChanges {
  is_active?: boolean;
  max_sessions?: number;
  full_name?: string | null;
  role?: Role;
  password?: string;
}

export interface SmtpSettings {
  smtp_host: string;
  smtp_port: number;
  security_type: SecurityType;
  username: string | null;
  from_email: string;
  require_auth: boolean;
}

export type SmtpConfig = ({ configured: true } & SmtpSettings) | { configured: false };

/** POST /smtp/config: leaving `password` out keeps the stored one. */
export interface SmtpConfigInput extends Omit<SmtpSettings, 'username'> {
  username?: string | null;
  password?: string;
}

/** One event of the audit log (GET /audit). */
export interface AuditEntry {
  id: number;
  at: string;
  actor_id: number | null;
  actor_email: string | null;
  address: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  detail: Record<string, unknown> | null;
}

/** GET /audit: newest first; `next_before` is the `before` of the next, older page (null at the end). */
export interface AuditPage {
  entries: AuditEntry[];
  next_before: number | null;
}

/** GET /audit's filters (all optional; times in ISO 8601). */
export interface AuditQuery {
  since?: string;
  until?: string;
  user?: string;
  action?: string;
  limit?: number;
  before?: number;
  after?: number;
}

// JSON schemas of what the broker's REST API answers: fastify serializes each reply with them (a
// field missing here never leaves the server) and @fastify/swagger publishes them in
// GET /api/openapi.json. The TypeScript shapes are in protocol/broker-api.ts.
import { SESSION_STATUSES } from '../protocol/index.js';
import { SECURITY_TYPES } from './smtp-settings.js';
import { ROLES } from './users.js';

const string = { type: 'string' } as const;
const integer = { type: 'integer' } as const;
const boolean = { type: 'boolean' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const timestamp = { type: 'string', description: 'ISO 8601, UTC, e.g. 2026-01-31T10:30:00Z' } as const;
const role = { type: 'string', enum: ROLES } as const;
const sessionStatus = { type: 'string', enum: SESSION_STATUSES } as const;

const object = <P extends Record<string, object>>(properties: P, required: (keyof P & string)[] = Object.keys(properties)) =>
  ({ type: 'object', required, properties }) as const;

/** Every property required but the named ones (fields only some brokers send). */
const allBut = <P extends Record<string, object>>(properties: P, ...optional: (keyof P & string)[]) =>
  (Object.keys(properties) as (keyof P & string)[]).filter((name) => !optional.includes(name));

/** Every failure: the reason, for a person; the machine-readable code is in the X-Rac-Error header. */
export const errorReply = {
  ...object({ detail: string }),
  description: 'what went wrong and what to do next; the machine-readable code is in the X-Rac-Error header',
};

export const messageReply = object({ message: string });

/** Closing a session: `already_closed` says nothing was done (it was closed before). */
export const closeReply = object({ message: string, already_closed: boolean }, ['message']);

export const healthReply = object({ status: { type: 'string', enum: ['healthy'] } });

export const loginReply = object({
  access_token: { type: 'string', description: 'a JWT: send it as Authorization: Bearer <token>' },
  token_type: { type: 'string', enum: ['bearer'] },
  user: object({ id: integer, email: string, full_name: nullableString, role }),
});

export const userReply = object({
  id: integer,
  email: string,
  full_name: nullableString,
  role,
  max_sessions: integer,
  is_active: boolean,
  created_at: timestamp,
});

export const smtpConfigReply = object(
  {
    configured: boolean,
    smtp_host: string,
    smtp_port: integer,
    security_type: { type: 'string', enum: SECURITY_TYPES },
    username: nullableString,
    from_email: string,
    require_auth: boolean,
  },
  ['configured'],
);

const sessionProperties = {
  id: integer,
  session_code: { type: 'string', pattern: '^\\d{9}$' },
  tech_user_id: integer,
  customer_name: nullableString,
  customer_email: nullableString,
  status: sessionStatus,
  udp_port: integer,
  created_at: timestamp,
  updated_at: timestamp,
  closed_at: { ...nullableString, description: timestamp.description },
  email_status: {
    type: ['string', 'null'],
    enum: ['sending', 'sent', 'failed', null],
    description: 'mailing the code to customer_email; null when no mail was asked for',
  },
  email_error: { ...nullableString, description: "why the mail failed (the SMTP server's reply when it gave one)" },
  allow_unencrypted_agent: {
    type: 'boolean',
    description: "accepts the reference client's unencrypted agent (the stream is then not end-to-end encrypted)",
  },
  relay_host: {
    type: 'string',
    description:
      "where UDP clients send this session's datagrams (with udp_port): the relay of the broker node holding the session; absent on a single broker without --relay-host, whose clients use the host they reached it by",
  },
};
export const sessionReply = object(sessionProperties, allBut(sessionProperties, 'relay_host'));

/** A new session: the session and, for whoever passes it on, what the customer runs and their page. */
const createdSessionProperties = {
  ...sessionProperties,
  customer_command: { type: 'string', description: 'the command the customer runs (npx with this broker’s own package)' },
  join_url: { type: 'string', description: 'the customer’s page with that command for each system' },
};
export const createdSessionReply = object(createdSessionProperties, allBut(createdSessionProperties, 'relay_host'));

export const sessionStatsReply = object({
  session_id: integer,
  status: sessionStatus,
  relay: {
    type: ['object', 'null'],
    description:
      "the UDP relay's counters (datagrams and bytes each way, drops by reason…); null when the relay is not running, or the node holding it did not answer",
    additionalProperties: { type: ['number', 'boolean'] },
  },
});

const sessionInfoProperties = {
  session_code: string,
  udp_port: integer,
  status: sessionStatus,
  allow_unencrypted_agent: { type: 'boolean' },
  relay_host: sessionProperties.relay_host,
};
export const sessionInfoReply = object(sessionInfoProperties, allBut(sessionInfoProperties, 'relay_host'));

/** One audit event; `detail` holds extra facts (never secrets), different per action. */
export const auditEntryReply = object({
  id: integer,
  at: timestamp,
  actor_id: { type: ['integer', 'null'], description: 'the user who acted; null for the broker itself or an unknown login' },
  actor_email: { ...nullableString, description: 'their email (as typed, for a failed login)' },
  address: { ...nullableString, description: 'the client address it came from' },
  action: { type: 'string', description: 'area.verb: auth.login, user.create, session.viewer_join…' },
  target_type: nullableString,
  target_id: nullableString,
  detail: { type: ['object', 'null'], additionalProperties: true },
});

/** A page of the audit log: pass next_before as ?before= for the next (older) page. */
export const auditPageReply = object({
  entries: { type: 'array', items: auditEntryReply },
  next_before: { type: ['integer', 'null'], description: 'the cursor for the next, older page; null when this was the last' },
});

/** The 200 reply and the error replies of a route. */
export const replies = (ok: object) => ({ 200: { description: 'OK', ...ok }, '4xx': errorReply, '5xx': errorReply });

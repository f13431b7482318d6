// POST/GET /api/sessions, DELETE /api/sessions/{id}, GET /api/sessions/{code}/info
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf, authHooks } from '../auth.js';
import { isForwarded } from '../cluster/forwarded-address.js';
import type { BrokerContext } from '../context.js';
import { isSessionCode } from '../../protocol/session-code.js';
import { customerCommand, joinPagePath } from '../../protocol/customer-command.js';
import { Errors } from '../errors.js';
import { BEARER_AUTH } from '../openapi.js';
import { closeReply, createdSessionReply, replies, sessionInfoReply, sessionReply, sessionStatsReply } from '../response-schemas.js';
import { createSessionBody } from '../schemas.js';
import type { SessionRequest } from '../../protocol/broker-api.js';
import type { Session } from '../session-store.js';
import { idParams, parseId } from './users.js';

/** What the API returns for a session: the spec's fields, then our additions. */
export const publicSession = (s: Session, relayHost: string | undefined) => ({
  id: s.id,
  session_code: s.session_code,
  tech_user_id: s.tech_user_id,
  customer_name: s.customer_name,
  customer_email: s.customer_email,
  status: s.status,
  udp_port: s.udp_port,
  created_at: s.created_at,
  updated_at: s.updated_at,
  closed_at: s.closed_at,
  // Mailing the code to customer_email: null (no mail asked for), "sending", "sent" or "failed";
  // email_error says why it failed (the SMTP server's reply when it gave one).
  email_status: s.email_status,
  email_error: s.email_error,
  // The reference Windows client (unencrypted stream) may join this session.
  allow_unencrypted_agent: s.allow_unencrypted_agent,
  // The node holding the session (several brokers on one database, or --relay-host): its relay's address.
  ...(relayHost === undefined ? {} : { relay_host: relayHost }),
});

const docs = (summary: string) => ({ tags: ['sessions'], summary, security: BEARER_AUTH });

/** The schemas of each route: what OpenAPI describes and fastify validates and serializes with. */
const SCHEMAS = {
  create: {
    ...docs('create a session (and mail its code to the customer)'),
    body: createSessionBody,
    response: replies(createdSessionReply),
  },
  list: { ...docs('your sessions (every session, for an admin)'), response: replies({ type: 'array', items: sessionReply }) },
  close: { ...docs('close a session'), params: idParams, response: replies(closeReply) },
  stats: { ...docs("a live session's relay counters"), params: idParams, response: replies(sessionStatsReply) },
  info: {
    tags: ['sessions'],
    summary: "a session's UDP port and status, by its code (for the customer's agent; no login)",
    params: { type: 'object', required: ['code'], properties: { code: { type: 'string', description: 'the 9-digit session code' } } },
    response: replies(sessionInfoReply),
  },
};

/** Our addition to the created session: what the customer runs, and their page saying so. */
const customerInstructions = (ctx: BrokerContext, code: string) => ({
  customer_command: customerCommand({ code, brokerUrl: ctx.publicUrl, version: ctx.agentPackage.version }),
  join_url: ctx.publicUrl + joinPagePath(code),
});

export function sessionRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  const { requireUser } = authHooks(ctx);

  app.post<{ Body: SessionRequest | null }>('/sessions', { preHandler: requireUser, schema: SCHEMAS.create }, async (request) => {
    const body = request.body ?? {};
    const customerEmail = body.customer_email?.trim() || null;
    // Read before the session exists: an error here creates nothing, so a retry is safe.
    const mail = await ctx.mail.sessionCodeStatus(customerEmail);
    const session = await ctx.sessions.create(
      request.user!,
      {
        customer_name: body.customer_name?.trim() || null,
        customer_email: customerEmail,
        allow_unencrypted_agent: body.allow_unencrypted_agent === true,
        ...mail,
      },
      actorOf(request),
    );
    // Never delays or fails the creation: the mail goes out after this response.
    ctx.mail.queueSessionCode(session, request.user!, actorOf(request));
    return { ...publicSession(session, ctx.cluster.relayHostOf(session)), ...customerInstructions(ctx, session.session_code) };
  });

  app.get('/sessions', { preHandler: requireUser, schema: SCHEMAS.list }, async (request) => {
    const user = request.user!;
    return (await ctx.sessions.store.list(user.role === 'admin' ? null : user.id)).map((s) => publicSession(s, ctx.cluster.relayHostOf(s)));
  });

  app.delete<{ Params: { id: string } }>('/sessions/:id', { preHandler: requireUser, schema: SCHEMAS.close }, async (request) => {
    const user = request.user!;
    const session = await ctx.sessions.store.byId(parseId(request.params.id, 'session_id'));
    if (!session) throw Errors.sessionNotFound();
    if (user.role !== 'admin' && session.tech_user_id !== user.id) throw Errors.sessionForbidden();
    // Closing twice changes nothing and must not say it did.
    if (session.status === 'closed') return { message: 'Session was already closed', already_closed: true };
    await ctx.sessions.close(session, actorOf(request));
    return { message: 'Session closed successfully', already_closed: false };
  });

  // The relay's counters of a live session: datagrams in/out, dropped, from unknown addresses.
  app.get<{ Params: { id: string } }>('/sessions/:id/stats', { preHandler: requireUser, schema: SCHEMAS.stats }, async (request) => {
    const user = request.user!;
    const session = await ctx.sessions.store.byId(parseId(request.params.id, 'session_id'));
    if (!session) throw Errors.sessionNotFound();
    if (user.role !== 'admin' && session.tech_user_id !== user.id) throw Errors.sessionForbidden();
    if (session.status === 'closed') throw Errors.sessionClosed();
    return {
      session_id: session.id,
      status: session.status,
      relay: ctx.hub.counters(session.id) ?? (await ownerCounters(request, session)),
    };
  });

  /** Another node's session: its owner has the counters (asked once; a request from a node is not passed on). */
  const ownerCounters = (request: FastifyRequest, session: Session) =>
    isForwarded(request.raw) ? null : ctx.cluster.ownerRelayCounters(session, request.headers.authorization ?? '', request.ip);

  // Unauthenticated (the customer's client calls it), so guessing codes is throttled.
  app.get<{ Params: { code: string } }>('/sessions/:code/info', { schema: SCHEMAS.info }, async (request) => {
    ctx.throttle.check('session_code', request.ip);
    const code = request.params.code;
    const session = isSessionCode(code) ? await ctx.sessions.store.byCode(code) : undefined;
    if (!session) {
      await ctx.throttle.recordMiss('session_code', request.ip);
      throw Errors.sessionNotFound();
    }
    if (session.status === 'closed') throw Errors.sessionClosed();
    return {
      session_code: session.session_code,
      udp_port: session.udp_port,
      status: session.status,
      allow_unencrypted_agent: session.allow_unencrypted_agent,
      relay_host: ctx.cluster.relayHostOf(session),
    };
  });
}

// POST/GET /api/sessions, DELETE /api/sessions/{id}, GET /api/sessions/{code}/info
import type { FastifyInstance } from 'fastify';
import { actorOf, authHooks } from '../auth.js';
import type { BrokerContext } from '../context.js';
import { customerCommand, joinPagePath } from '../../protocol/customer-command.js';
import { Errors } from '../errors.js';
import { createSessionBody } from '../schemas.js';
import type { Session } from '../session-store.js';
import { parseId } from './users.js';

export const SESSION_CODE = /^\d{9}$/;

/** What the API returns for a session: the spec's fields, then our additions. */
export const publicSession = (s: Session) => ({
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
});

/** Our addition to the created session: what the customer runs, and their page saying so. */
const customerInstructions = (ctx: BrokerContext, code: string) => ({
  customer_command: customerCommand({ code, brokerUrl: ctx.publicUrl, version: ctx.agentPackage.version }),
  join_url: ctx.publicUrl + joinPagePath(code),
});

export function sessionRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  const { requireUser } = authHooks(ctx);

  app.post<{ Body: { customer_name?: string | null; customer_email?: string | null } | null }>(
    '/sessions',
    { preHandler: requireUser, schema: { body: createSessionBody } },
    async (request) => {
      const body = request.body ?? {};
      const session = await ctx.sessions.create(
        request.user!,
        { customer_name: body.customer_name?.trim() || null, customer_email: body.customer_email?.trim() || null },
        actorOf(request),
      );
      // Never delays or fails the creation: the mail goes out after this response.
      ctx.mail.queueSessionCode(session, request.user!, actorOf(request));
      return { ...publicSession(session), ...customerInstructions(ctx, session.session_code) };
    },
  );

  app.get('/sessions', { preHandler: requireUser }, async (request) => {
    const user = request.user!;
    return ctx.sessions.store.list(user.role === 'admin' ? null : user.id).map(publicSession);
  });

  app.delete<{ Params: { id: string } }>('/sessions/:id', { preHandler: requireUser }, async (request) => {
    const user = request.user!;
    const session = ctx.sessions.store.byId(parseId(request.params.id, 'session_id'));
    if (!session) throw Errors.sessionNotFound();
    if (user.role !== 'admin' && session.tech_user_id !== user.id) throw Errors.sessionForbidden();
    // Closing twice changes nothing and must not say it did.
    if (session.status === 'closed') return { message: 'Session was already closed', already_closed: true };
    await ctx.sessions.close(session, actorOf(request));
    return { message: 'Session closed successfully', already_closed: false };
  });

  // The relay's counters of a live session: datagrams in/out, dropped, from unknown addresses.
  app.get<{ Params: { id: string } }>('/sessions/:id/stats', { preHandler: requireUser }, async (request) => {
    const user = request.user!;
    const session = ctx.sessions.store.byId(parseId(request.params.id, 'session_id'));
    if (!session) throw Errors.sessionNotFound();
    if (user.role !== 'admin' && session.tech_user_id !== user.id) throw Errors.sessionForbidden();
    if (session.status === 'closed') throw Errors.sessionClosed();
    return { session_id: session.id, status: session.status, relay: ctx.hub.counters(session.id) ?? null };
  });

  // Unauthenticated (the customer's client calls it), so guessing codes is throttled.
  app.get<{ Params: { code: string } }>('/sessions/:code/info', async (request) => {
    ctx.throttle.check('session_code', request.ip);
    const code = request.params.code;
    const session = SESSION_CODE.test(code) ? ctx.sessions.store.byCode(code) : undefined;
    if (!session) {
      ctx.throttle.recordMiss('session_code', request.ip);
      throw Errors.sessionNotFound();
    }
    if (session.status === 'closed') throw Errors.sessionClosed();
    return { session_code: session.session_code, udp_port: session.udp_port, status: session.status };
  });
}

// Every HTTP request, seen once it is answered: a request id (X-Request-Id on the reply, req_id in
// the log lines), one log line (method, route, path without query string, status, address, time;
// at debug for a read that succeeded)
// and the metrics' request counter and latency histogram. GET /metrics on the main port (admins).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authHooks } from './auth.js';
import { pathOnly } from './broker-log.js';
import type { BrokerContext } from './context.js';
import { BEARER_AUTH } from './openapi.js';
import { errorReply } from './response-schemas.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** fastify's genReqId: a fresh id per request (a client's own X-Request-Id is not trusted into the logs). */
export const newRequestId = (): string => randomUUID();

/** The route template ("/api/sessions/:id"), so that ids and codes do not make a label each. */
const routeOf = (request: FastifyRequest): string => request.routeOptions.url ?? 'unmatched';

/**
 * A read that succeeded changes nothing and refuses nothing: it is a debug line, so the info log
 * keeps every change, refusal and failure without a line per poll (and the hottest lookup, GET
 * /sessions/{code}/info, stays cheap). The metrics still count every request.
 */
const isQuietRead = (request: FastifyRequest, reply: FastifyReply): boolean =>
  (request.method === 'GET' || request.method === 'HEAD') && reply.statusCode < 400;

export function observeRequests(app: FastifyInstance, ctx: BrokerContext): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const seconds = reply.elapsedTime / 1000;
    const route = routeOf(request);
    ctx.metrics.observeRequest(request.method, route, reply.statusCode, seconds);
    // No headers, no query string: Authorization, cookies and ?token= stay out of the log.
    const line = {
      method: request.method,
      route,
      path: pathOnly(request.url),
      status: reply.statusCode,
      address: request.ip,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      user: request.user?.email,
    };
    if (reply.statusCode >= 500) request.log.error(line, 'request failed');
    else if (isQuietRead(request, reply)) request.log.debug(line, 'request');
    else request.log.info(line, 'request');
  });
}

/** GET /metrics on the main port: admins only (the separate --metrics-address listener has no auth). */
export function metricsRoute(app: FastifyInstance, ctx: BrokerContext): void {
  const { requireAdmin } = authHooks(ctx);
  app.get(
    '/metrics',
    {
      preHandler: requireAdmin,
      schema: {
        tags: ['meta'],
        summary: 'Prometheus metrics (admin only; rac serve --metrics)',
        security: BEARER_AUTH,
        response: {
          200: { description: 'the Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
          '4xx': errorReply,
          '5xx': errorReply,
        },
      },
    },
    async (_request, reply) => reply.type(ctx.metrics.contentType).send(await ctx.metrics.text()),
  );
}

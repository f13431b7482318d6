// The broker's HTTP server: fastify with the API under /api, one error handler that answers
// {"detail": …} for every failure, and no 5xx for anything a client can send.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { installErrorHandlers } from '../http-kit/error-handler.js';
import { recordRoutes } from '../http-kit/route-list.js';
import type { BrokerContext } from './context.js';
import type { SecureContextOptions } from 'node:tls';
import { httpsServerFactory } from './https-server.js';
import { Errors } from './errors.js';
import { metricsRoute, newRequestId, observeRequests } from './http-observability.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { backupRoutes } from './routes/backup.js';
import { customerRoutes } from './routes/customer.js';
import { sessionRoutes } from './routes/sessions.js';
import { smtpRoutes } from './routes/smtp.js';
import { userRoutes } from './routes/users.js';
import { openApiRoute, registerOpenApi } from './openapi.js';
import { healthReply, replies } from './response-schemas.js';
import { formatValidationError } from './schemas.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * @param trustProxy addresses of reverse proxies (e.g. "127.0.0.1" or "loopback,10.0.0.0/8") whose
 *   X-Forwarded-For names the client; without it the header is ignored, so it cannot be forged to
 *   dodge the per-address throttles.
 * @param tls certificate and key: HTTPS (and WSS) instead of plain HTTP on the same port.
 */
export function buildHttpServer(
  ctx: BrokerContext,
  trustProxy?: string,
  metricsOnMainPort = false,
  tls?: SecureContextOptions,
): FastifyInstance {
  const app = Fastify({
    ...(tls ? { serverFactory: httpsServerFactory(tls) } : {}),
    loggerInstance: ctx.log.child({ component: 'http' }) as FastifyBaseLogger,
    // One line per request, written by observeRequests (fastify's own would log the full URL).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'req_id' }),
    genReqId: newRequestId,
    requestIdHeader: false,
    trustProxy: trustProxy ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Strict types: "5" is not a number, "true" is not a boolean.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    schemaErrorFormatter: formatValidationError,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });
  recordRoutes(app);
  observeRequests(app, ctx);
  app.decorateRequest('user', null);

  installErrorHandlers(app, {
    body: (error) => ({ detail: error.message }),
    headers: (error) => ({ 'x-rac-error': error.code }),
    clientError: (error) => Errors.badRequest(error.code ?? 'RAC_BAD_REQUEST', error.statusCode, clientErrorDetail(error)),
    internal: Errors.internal,
    routeNotFound: Errors.routeNotFound,
    log: (message, requestId) => ctx.log.error({ req_id: requestId }, message),
  });

  registerOpenApi(app);
  // In a plugin, like every route, so that it is registered after the OpenAPI plugin sees routes.
  app.register(async (root) => healthRoute(root));
  app.register(async (root) => customerRoutes(root, ctx));
  if (metricsOnMainPort) app.register(async (root) => metricsRoute(root, ctx));
  app.register(
    async (api) => {
      healthRoute(api);
      openApiRoute(api);
      authRoutes(api, ctx);
      userRoutes(api, ctx);
      smtpRoutes(api, ctx);
      sessionRoutes(api, ctx);
      auditRoutes(api, ctx);
      backupRoutes(api, ctx);
    },
    { prefix: '/api' },
  );
  return app;
}

function healthRoute(app: FastifyInstance): void {
  app.get('/health', { schema: { tags: ['meta'], summary: 'is the broker up', response: replies(healthReply) } }, async () => ({
    status: 'healthy',
  }));
}

function clientErrorDetail(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body: is not valid JSON';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `body: larger than ${BODY_LIMIT_BYTES} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'body: send Content-Type: application/json';
    default:
      return error.message;
  }
}

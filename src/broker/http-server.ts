// The broker's HTTP server: fastify with the API under /api, one error handler that answers
// {"detail": …} for every failure, and no 5xx for anything a client can send.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { BrokerContext } from './context.js';
import { BrokerError, Errors } from './errors.js';
import { authRoutes } from './routes/auth.js';
import { customerRoutes } from './routes/customer.js';
import { sessionRoutes } from './routes/sessions.js';
import { smtpRoutes } from './routes/smtp.js';
import { userRoutes } from './routes/users.js';
import { formatValidationError } from './schemas.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * @param trustProxy addresses of reverse proxies (e.g. "127.0.0.1" or "loopback,10.0.0.0/8") whose
 *   X-Forwarded-For names the client; without it the header is ignored, so it cannot be forged to
 *   dodge the per-address throttles.
 */
export function buildHttpServer(ctx: BrokerContext, log: (message: string) => void, trustProxy?: string): FastifyInstance {
  const app = Fastify({
    logger: false,
    trustProxy: trustProxy ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Strict types: "5" is not a number, "true" is not a boolean.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    schemaErrorFormatter: formatValidationError,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });
  app.decorateRequest('user', null);

  app.setErrorHandler((error: FastifyError | BrokerError, request, reply) => {
    if (error instanceof BrokerError) {
      return reply
        .code(error.statusCode)
        .headers({ ...error.headers, 'x-rac-error': error.code })
        .send({ detail: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // fastify's own client errors: malformed JSON, body too large, unsupported content type…
      return reply
        .code(status)
        .header('x-rac-error', error.code ?? 'RAC_BAD_REQUEST')
        .send({ detail: clientErrorDetail(error) });
    }
    log(`error on ${request.method} ${request.url.split('?')[0]}: ${error.stack ?? error.message}`);
    return reply.code(500).header('x-rac-error', 'RAC_INTERNAL').send({ detail: 'Internal server error' });
  });
  app.setNotFoundHandler((request) => {
    throw Errors.routeNotFound(request.method, request.url.split('?')[0]!);
  });

  const health = async () => ({ status: 'healthy' });
  app.get('/health', health);
  customerRoutes(app, ctx);
  app.register(
    async (api) => {
      api.get('/health', health);
      authRoutes(api, ctx);
      userRoutes(api, ctx);
      smtpRoutes(api, ctx);
      sessionRoutes(api, ctx);
    },
    { prefix: '/api' },
  );
  return app;
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

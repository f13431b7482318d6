// The Openctrol HTTP(S) server: fastify for the REST endpoints, ws for the two WebSockets, an API
// key on everything but /api/v1/health, and one error handler answering {"error","details"}, so
// nothing a client sends yields a 500.
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { presentedKey } from './auth.js';
import type { OpenctrolContext } from './context.js';
import { installErrorHandlers } from '../../http-kit/error-handler.js';
import { Errors, errorBody } from './errors.js';
import { openctrolRoutes } from './routes.js';
import { attachWebSockets, MAX_MESSAGE_BYTES } from './websockets.js';

export const PUBLIC_PATHS = new Set(['/api/v1/health']);

export interface OpenctrolServerOptions {
  host: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  /** WebSocket ping interval; a peer silent for one interval is dropped. */
  heartbeatMs?: number;
}

export interface RunningOpenctrolServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export function buildOpenctrolApp(ctx: OpenctrolContext, tls?: { cert: Buffer; key: Buffer }): FastifyInstance {
  const app = (tls
    ? Fastify({
        logger: false,
        bodyLimit: MAX_MESSAGE_BYTES,
        https: { cert: tls.cert, key: tls.key },
        routerOptions: { ignoreTrailingSlash: true },
      })
    : Fastify({ logger: false, bodyLimit: MAX_MESSAGE_BYTES, routerOptions: { ignoreTrailingSlash: true } })) as unknown as FastifyInstance;

  // JSON bodies; an empty body counts as {} (the end/monitor calls are often sent bare).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (_request, text, done) => {
    const body = String(text);
    if (body.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch {
      done(Errors.invalidJson(), undefined);
    }
  });

  app.addHook('onRequest', async (request) => {
    if (PUBLIC_PATHS.has(request.url.split('?')[0]!.replace(/\/+$/, ''))) return;
    ctx.auth.verify(request.ip, presentedKey(request.headers));
  });

  installErrorHandlers(app, {
    body: errorBody,
    clientError: (error) =>
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? Errors.payloadTooLarge(MAX_MESSAGE_BYTES)
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? Errors.unsupportedMediaType()
          : Errors.badRequest(error.message),
    internal: Errors.internal,
    routeNotFound: Errors.routeNotFound,
    log: ctx.log,
  });

  openctrolRoutes(app, ctx);
  return app;
}

export async function startOpenctrolServer(ctx: OpenctrolContext, options: OpenctrolServerOptions): Promise<RunningOpenctrolServer> {
  const app = buildOpenctrolApp(ctx, options.tls);
  const sockets = attachWebSockets(app.server as Server, ctx, options.heartbeatMs);
  const pruneTimer = setInterval(() => {
    ctx.leases.prune();
    ctx.auth.throttle.prune();
  }, 5000).unref();
  await app.listen({ host: options.host, port: options.port });
  const port = (app.server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return {
    port,
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    async close() {
      clearInterval(pruneTimer);
      ctx.leases.endAll();
      sockets.close();
      await app.close();
    },
  };
}

// One error handler and one 404 handler for a fastify server. Handlers throw HttpErrors from the
// server's catalog; fastify's own client errors (malformed JSON, body too large…) are mapped into
// that catalog; anything else is a bug: logged, answered with the catalog's 500. The wire format
// (body and extra headers) is the server's.
import type { FastifyError, FastifyInstance } from 'fastify';
import { HttpError } from './http-error.js';

export interface ErrorFormat {
  body(error: HttpError): object;
  /** Headers sent with every error, besides the error's own (e.g. Retry-After). */
  headers?(error: HttpError): Record<string, string>;
  /** fastify's own 4xx, as a catalog error. */
  clientError(error: FastifyError & { statusCode: number }): HttpError;
  internal(): HttpError;
  routeNotFound(method: string, path: string): HttpError;
  /** A bug's stack, with the request's id so the log line can be found from the reply. */
  log(message: string, requestId: string): void;
}

export function installErrorHandlers(app: FastifyInstance, format: ErrorFormat): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const status = error.statusCode ?? 500;
    let answer: HttpError;
    if (error instanceof HttpError) answer = error;
    else if (status >= 400 && status < 500) answer = format.clientError(error as FastifyError & { statusCode: number });
    else {
      format.log(`error on ${request.method} ${pathOf(request.url)}: ${error.stack ?? error.message}`, request.id);
      answer = format.internal();
    }
    return reply
      .code(answer.statusCode)
      .headers({ ...answer.headers, ...format.headers?.(answer) })
      .send(format.body(answer));
  });
  app.setNotFoundHandler((request) => {
    throw format.routeNotFound(request.method, pathOf(request.url));
  });
}

const pathOf = (url: string) => url.split('?')[0]!;

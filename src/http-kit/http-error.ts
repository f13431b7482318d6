// The shape shared by the broker's and the agent's error catalogs: a machine-readable code, an HTTP
// status and a message, thrown by handlers and formatted by one error handler per server (see
// error-handler.ts; each API has its own body format).

export class HttpError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A catalog entry builder: `define(code, status, (args) => message)` → `(args) => error`. */
export const errorDefiner =
  <E extends HttpError>(make: (code: string, statusCode: number, message: string) => E) =>
  <A extends unknown[]>(code: string, statusCode: number, message: (...args: A) => string) =>
  (...args: A): E =>
    make(code, statusCode, message(...args));

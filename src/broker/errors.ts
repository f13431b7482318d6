// Every error the broker's HTTP API answers with, in one place: a machine-readable code, the HTTP
// status and the `detail` text. Handlers throw these; the error handler (http-kit/error-handler.ts,
// set up in http-server.ts) formats them as {"detail": …} (the spec's shape) with the code in the
// `X-Rac-Error` header.

import { HttpError, errorDefiner } from '../http-kit/http-error.js';

export class BrokerError extends HttpError {
  override name = 'BrokerError';
}

const define = errorDefiner((code, status, message) => new BrokerError(code, status, message));

export const Errors = {
  // 400 (and fastify's other 4xx: malformed JSON, body too large…, with fastify's code)
  badRequest: (code: string, status: number, detail: string) => new BrokerError(code, status, detail),
  validation: define('RAC_VALIDATION', 400, (detail: string) => detail),
  userExists: define('RAC_USER_EXISTS', 400, (email: string) => `User already exists: ${email}`),
  lastAdmin: define('RAC_LAST_ADMIN', 400, () => 'This is the last active admin: create or enable another admin first'),
  backupOnPostgres: define(
    'RAC_BACKUP_POSTGRES',
    400,
    () =>
      'This broker keeps its data in PostgreSQL: back it up with pg_dump, and copy jwt-secret.key and smtp-secret.key from the data dir',
  ),
  smtpNotConfigured: define('RAC_SMTP_NOT_CONFIGURED', 400, () => 'SMTP is not configured: POST /api/smtp/config first'),
  // 401
  notAuthenticated: define(
    'RAC_NOT_AUTHENTICATED',
    401,
    () => 'Not authenticated: send Authorization: Bearer <token> (POST /api/auth/login)',
  ),
  invalidToken: define('RAC_INVALID_TOKEN', 401, () => 'Invalid or expired token: log in again'),
  invalidCredentials: define('RAC_INVALID_CREDENTIALS', 401, () => 'Incorrect email or password'),
  // 403
  adminRequired: define('RAC_ADMIN_REQUIRED', 403, () => 'Admin access required'),
  sessionForbidden: define('RAC_SESSION_FORBIDDEN', 403, () => 'Access denied: you can only manage your own sessions'),
  // 404 / 410
  userNotFound: define('RAC_USER_NOT_FOUND', 404, (id: number) => `User ${id} not found`),
  sessionNotFound: define('RAC_SESSION_NOT_FOUND', 404, () => 'Session not found'),
  sessionClosed: define('RAC_SESSION_CLOSED', 410, () => 'Session has been closed'),
  agentPackageNotFound: define('RAC_PACKAGE_NOT_FOUND', 404, (file: string) => `Not found: this broker hands out ${file} only`),
  routeNotFound: define('RAC_ROUTE_NOT_FOUND', 404, (method: string, url: string) => `Not found: ${method} ${url}`),
  // 429
  tooManySessions: define('RAC_MAX_SESSIONS', 429, (max: number) => `Maximum concurrent sessions reached (${max}): close a session first`),
  throttled: (retryAfterSeconds: number, subject = 'from this address') =>
    new BrokerError('RAC_THROTTLED', 429, `Too many failed attempts ${subject}: retry in ${retryAfterSeconds} s`, {
      'retry-after': String(retryAfterSeconds),
    }),
  // 502: the SMTP server said no (or never answered); the detail is its reply, for the admin.
  smtpFailed: define('RAC_SMTP_FAILED', 502, (reply: string) => reply),
  // 503: npm pack failed (the broker's log says why); the next request tries again.
  agentPackageUnavailable: define(
    'RAC_PACKAGE_UNAVAILABLE',
    503,
    () => 'The agent package cannot be built right now: the broker log says why; retry later',
  ),
  // 500
  internal: define('RAC_INTERNAL', 500, () => 'Internal server error'),
  noUdpPort: define(
    'RAC_NO_UDP_PORT',
    500,
    (range: string) => `Failed to allocate UDP port: every port in ${range} is in use; close sessions or widen --udp-ports`,
  ),
} as const;

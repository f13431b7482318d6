// Every error the Openctrol API answers with, in one place: the spec's {"error": code, "details": text}
// and the HTTP status. Handlers throw these; the error handler set up in server.ts formats them.

import { HttpError, errorDefiner } from '../../http-kit/http-error.js';

export class OpenctrolError extends HttpError {
  override name = 'OpenctrolError';
}

/** The spec's error body. */
export const errorBody = (error: HttpError): { error: string; details: string } => ({ error: error.code, details: error.message });

const define = errorDefiner((code, status, message) => new OpenctrolError(code, status, message));

export const Errors = {
  // 400
  badRequest: define('bad_request', 400, (details: string) => details),
  invalidJson: define('bad_request', 400, () => 'Request body is not valid JSON'),
  invalidAction: define('invalid_action', 400, (action: unknown) =>
    action === undefined
      ? 'action: required ("restart", "shutdown" or "wol")'
      : `Invalid action: ${JSON.stringify(action)?.slice(0, 64)} (expected "restart", "shutdown" or "wol")`,
  ),
  wolNotConfigured: define('wol_not_supported', 400, () => 'Wake-on-LAN is not configured: start rac agent with --wol-mac'),
  invalidVolume: define('invalid_volume', 400, (field: string) => `${field}: expected a number from 0 to 100`),
  invalidMuted: define('invalid_muted', 400, (field: string) => `${field}: expected true or false`),
  invalidDeviceId: define('invalid_device_id', 400, () => 'device_id: required, a non-empty string from /api/v1/audio/status'),
  invalidMonitorId: define('invalid_monitor_id', 400, () => 'monitor_id: required, a string such as "DISPLAY1"'),
  // 401 / 403
  unauthorized: define('unauthorized', 401, () => 'Missing or invalid credentials'),
  // 404
  deviceNotFound: define('device_not_found', 404, (id: string) => `Audio device not found: ${id}`),
  monitorNotFound: define('monitor_not_found', 404, (id: string) => `Monitor not found: ${id}`),
  leaseNotFound: define('session_not_found', 404, (id: string) => `Desktop session not found: ${id}`),
  routeNotFound: define('not_found', 404, (method: string, url: string) => `Not found: ${method} ${url}`),
  // 413 / 415 / 429
  payloadTooLarge: define('payload_too_large', 413, (limit: number) => `Request body larger than ${limit} bytes`),
  unsupportedMediaType: define('unsupported_media_type', 415, () => 'Send the body as Content-Type: application/json'),
  throttled: (retryAfterSeconds: number) =>
    new OpenctrolError(
      'too_many_requests',
      429,
      `Too many failed authentication attempts from this address: retry in ${retryAfterSeconds} s`,
      {
        'retry-after': String(retryAfterSeconds),
      },
    ),
  // 500 / 501 / 503
  internal: define('internal_error', 500, () => 'Internal server error'),
  notSupported: define('not_supported', 501, (details: string) => details),
  audioUnavailable: define('audio_unavailable', 503, (details: string) => `Audio manager not available: ${details}`),
  powerUnavailable: define('power_unavailable', 503, (details: string) => `Power manager not available: ${details}`),
  desktopUnavailable: define('remote_desktop_unavailable', 503, (details: string) => `Remote desktop engine not available: ${details}`),
  powerFailed: define('power_failed', 500, (details: string) => `Power action failed: ${details}`),
} as const;

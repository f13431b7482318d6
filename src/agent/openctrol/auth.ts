// API-key checks for HTTP and WebSocket upgrades: X-Openctrol-Key, Authorization: Bearer, or
// ?api_key= (WebSocket only). Keys are compared as SHA-256 digests with timingSafeEqual, so the
// comparison takes the same time whatever the guess. Failed attempts are counted per address.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { bearerToken } from '../../http-kit/bearer.js';
import { FailedAuthThrottle, MemoryThrottleStore } from '../../http-kit/failed-auth-throttle.js';
import { Errors } from './errors.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function keysEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The key a request carries, from its headers (and, for WebSocket upgrades, its query). */
export function presentedKey(headers: IncomingHttpHeaders, query?: URLSearchParams): string | undefined {
  const header = headers['x-openctrol-key'];
  if (typeof header === 'string' && header !== '') return header;
  return bearerToken(headers.authorization) ?? query?.get('api_key') ?? undefined;
}

/** The throttle scope of every failed attempt at the API key or a desktop session token. */
export const AUTH_SCOPE = 'api_key';

/** Failed attempts per address, in memory, in one-minute windows; after `failures` the address waits. */
export function authThrottle(failures = 20, now?: () => number): FailedAuthThrottle {
  return new FailedAuthThrottle(new MemoryThrottleStore(), { misses: failures, windowMs: 60_000 }, Errors.throttled, now);
}

export class ApiKeyAuth {
  constructor(
    private readonly apiKey: string,
    readonly throttle: FailedAuthThrottle = authThrottle(),
  ) {
    if (!apiKey) throw new Error('the Openctrol API is never served without an API key');
  }

  /** Throws 429 (throttled) or 401; returns normally when the key is right. */
  verify(address: string, key: string | undefined): void {
    this.throttle.check(AUTH_SCOPE, address);
    if (key === undefined || !keysEqual(key, this.apiKey)) {
      this.throttle.recordMiss(AUTH_SCOPE, address);
      throw Errors.unauthorized();
    }
  }
}

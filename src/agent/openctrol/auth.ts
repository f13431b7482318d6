// API-key checks for HTTP and WebSocket upgrades: X-Openctrol-Key, Authorization: Bearer, or
// ?api_key= (WebSocket only). Keys are compared as SHA-256 digests with timingSafeEqual, so the
// comparison takes the same time whatever the guess. Failed attempts are counted per address.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Errors } from './errors.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function keysEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The key a request carries, from its headers (and, for WebSocket upgrades, its query). */
export function presentedKey(headers: IncomingHttpHeaders, query?: URLSearchParams): string | undefined {
  const header = headers['x-openctrol-key'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (m) return m[1];
  }
  return query?.get('api_key') ?? undefined;
}

export interface FailedAuthLimit {
  failures: number;
  windowMs: number;
}

/** Per-address failed-auth counter in fixed windows; after `failures` misses the address waits. */
export class AuthThrottle {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly limit: FailedAuthLimit = { failures: 20, windowMs: 60_000 },
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws a 429 when the address has used up its failures in this window. */
  check(address: string): void {
    const w = this.current(address);
    if (w && w.failures >= this.limit.failures) {
      throw Errors.throttled(Math.max(1, Math.ceil((w.start + this.limit.windowMs - this.now()) / 1000)));
    }
  }

  recordFailure(address: string): void {
    const w = this.current(address);
    if (w) w.failures++;
    else this.windows.set(address, { start: this.now(), failures: 1 });
    if (this.windows.size > 10_000) this.prune();
  }

  prune(): void {
    for (const [address, w] of this.windows) if (w.start + this.limit.windowMs <= this.now()) this.windows.delete(address);
  }

  private current(address: string) {
    const w = this.windows.get(address);
    if (!w || w.start + this.limit.windowMs <= this.now()) return undefined;
    return w;
  }
}

export class ApiKeyAuth {
  constructor(
    private readonly apiKey: string,
    readonly throttle: AuthThrottle = new AuthThrottle(),
  ) {
    if (!apiKey) throw new Error('the Openctrol API is never served without an API key');
  }

  /** Throws 429 (throttled) or 401; returns normally when the key is right. */
  verify(address: string, key: string | undefined): void {
    this.throttle.check(address);
    if (key === undefined || !keysEqual(key, this.apiKey)) {
      this.throttle.recordFailure(address);
      throw Errors.unauthorized();
    }
  }
}

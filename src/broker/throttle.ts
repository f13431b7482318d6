// Per-address throttling of guessable endpoints (login, session-code lookup). Misses are counted
// in fixed windows stored in the database, so restarting the broker does not reset them.
import type { Db } from './database.js';
import { Errors } from './errors.js';

export interface ThrottleLimit {
  misses: number;
  windowSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottleLimit = { misses: 30, windowSeconds: 60 };

interface Row {
  window_start: number;
  misses: number;
}

export class Throttle {
  constructor(
    private readonly db: Db,
    private readonly limit: ThrottleLimit = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws a 429 (with Retry-After) when the address has used up its misses in this window. */
  check(scope: string, address: string): void {
    const row = this.current(scope, address);
    if (row && row.misses >= this.limit.misses) {
      const retryAfter = Math.max(1, Math.ceil((row.window_start + this.limit.windowSeconds * 1000 - this.now()) / 1000));
      throw Errors.throttled(retryAfter);
    }
  }

  recordMiss(scope: string, address: string): void {
    const now = this.now();
    const windowStart = now - this.limit.windowSeconds * 1000;
    this.db
      .prepare(
        `INSERT INTO throttle (scope, address, window_start, misses) VALUES (?, ?, ?, 1)
         ON CONFLICT (scope, address) DO UPDATE SET
           misses = CASE WHEN window_start <= ? THEN 1 ELSE misses + 1 END,
           window_start = CASE WHEN window_start <= ? THEN excluded.window_start ELSE window_start END`,
      )
      .run(scope, address, now, windowStart, windowStart);
  }

  /** Forgets windows that have ended. */
  prune(): void {
    this.db.prepare('DELETE FROM throttle WHERE window_start <= ?').run(this.now() - this.limit.windowSeconds * 1000);
  }

  private current(scope: string, address: string): Row | undefined {
    const row = this.db.prepare('SELECT window_start, misses FROM throttle WHERE scope = ? AND address = ?').get(scope, address) as
      Row | undefined;
    if (!row || row.window_start <= this.now() - this.limit.windowSeconds * 1000) return undefined;
    return row;
  }
}

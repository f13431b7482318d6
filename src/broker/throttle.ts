// Throttling of guessable endpoints (login, session-code lookup): misses are counted per key (an
// address, or an account for logins) in fixed windows stored in the database, so restarting the
// broker does not reset them. Each scope has its own limit.
import type { Db } from './database.js';
import { Errors } from './errors.js';

export interface ThrottleLimit {
  misses: number;
  windowSeconds: number;
  /** Who is throttled, for the 429's detail: "from this address". */
  subject: string;
}

export const DEFAULT_THROTTLE: ThrottleLimit = { misses: 30, windowSeconds: 60, subject: 'from this address' };

/** Failed logins per account (the email as typed, lower-cased), whatever the address, existing or not. */
export const LOGIN_ACCOUNT_SCOPE = 'login_account';

export const SCOPE_LIMITS: Readonly<Record<string, ThrottleLimit>> = {
  [LOGIN_ACCOUNT_SCOPE]: { misses: 10, windowSeconds: 15 * 60, subject: 'for this account' },
};

export interface ThrottleKey {
  scope: string;
  key: string;
}

/** Misses counted ahead of the work; refund() takes them back when the attempt turned out good. */
export interface Reservation {
  refund(): void;
}

interface Row {
  window_start: number;
  misses: number;
}

export class Throttle {
  /** Told the scope of every refusal (the metrics count throttle hits). */
  onHit: ((scope: string) => void) | undefined;

  constructor(
    private readonly db: Db,
    private readonly limits: { fallback: ThrottleLimit; scopes: Readonly<Record<string, ThrottleLimit>> } = {
      fallback: DEFAULT_THROTTLE,
      scopes: SCOPE_LIMITS,
    },
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws a 429 (with Retry-After) when the key has used up its misses in this window. */
  check(scope: string, key: string): void {
    const limit = this.limitOf(scope);
    const row = this.current(scope, key);
    if (row && row.misses >= limit.misses) {
      this.onHit?.(scope);
      const retryAfter = Math.max(1, Math.ceil((row.window_start + limit.windowSeconds * 1000 - this.now()) / 1000));
      throw Errors.throttled(retryAfter, limit.subject);
    }
  }

  recordMiss(scope: string, key: string): void {
    const now = this.now();
    const windowStart = now - this.limitOf(scope).windowSeconds * 1000;
    this.db
      .prepare(
        `INSERT INTO throttle (scope, address, window_start, misses) VALUES (?, ?, ?, 1)
         ON CONFLICT (scope, address) DO UPDATE SET
           misses = CASE WHEN window_start <= ? THEN 1 ELSE misses + 1 END,
           window_start = CASE WHEN window_start <= ? THEN excluded.window_start ELSE window_start END`,
      )
      .run(scope, key, now, windowStart, windowStart);
  }

  /**
   * Checks every key and counts a miss against each in one transaction, before the slow work (the
   * password hash): concurrent attempts cannot together get past a limit. When a key is used up it
   * throws that key's 429 and counts nothing.
   */
  reserve(keys: ThrottleKey[]): Reservation {
    const reserved = this.db.transaction(() => {
      for (const { scope, key } of keys) this.check(scope, key);
      return keys.map(({ scope, key }) => {
        this.recordMiss(scope, key);
        return { scope, key, windowStart: this.current(scope, key)!.window_start };
      });
    })();
    let refunded = false;
    return {
      refund: () => {
        if (refunded) return;
        refunded = true;
        // Only from the window the miss went into: a new window starts from zero anyway.
        const refund = this.db.prepare(
          'UPDATE throttle SET misses = misses - 1 WHERE scope = ? AND address = ? AND window_start = ? AND misses > 0',
        );
        for (const r of reserved) refund.run(r.scope, r.key, r.windowStart);
      },
    };
  }

  /** Forgets windows that have ended. */
  prune(): void {
    const now = this.now();
    const scoped = Object.keys(this.limits.scopes);
    for (const scope of scoped) {
      this.db
        .prepare('DELETE FROM throttle WHERE scope = ? AND window_start <= ?')
        .run(scope, now - this.limitOf(scope).windowSeconds * 1000);
    }
    this.db
      .prepare(`DELETE FROM throttle WHERE scope NOT IN (SELECT value FROM json_each(?)) AND window_start <= ?`)
      .run(JSON.stringify(scoped), now - this.limits.fallback.windowSeconds * 1000);
  }

  private limitOf(scope: string): ThrottleLimit {
    return this.limits.scopes[scope] ?? this.limits.fallback;
  }

  private current(scope: string, key: string): Row | undefined {
    const row = this.db.prepare('SELECT window_start, misses FROM throttle WHERE scope = ? AND address = ?').get(scope, key) as
      Row | undefined;
    if (!row || row.window_start <= this.now() - this.limitOf(scope).windowSeconds * 1000) return undefined;
    return row;
  }
}

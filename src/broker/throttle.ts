// Per-address throttling of guessable endpoints (login, session-code lookup), scoped by endpoint.
// Misses are counted in the database, so restarting the broker does not reset them.
import { FailedAuthThrottle, type ThrottleLimit, type ThrottleStore, type ThrottleWindow } from '../http-kit/failed-auth-throttle.js';
import type { Db } from './database.js';
import { Errors } from './errors.js';

export type Throttle = FailedAuthThrottle;

export const DEFAULT_THROTTLE: ThrottleLimit = { misses: 30, windowMs: 60_000 };

export function brokerThrottle(db: Db, limit: ThrottleLimit = DEFAULT_THROTTLE, now?: () => number): Throttle {
  return new FailedAuthThrottle(new DatabaseThrottleStore(db), limit, Errors.throttled, now);
}

class DatabaseThrottleStore implements ThrottleStore {
  constructor(private readonly db: Db) {}

  get(scope: string, address: string): ThrottleWindow | undefined {
    return this.db.prepare('SELECT window_start AS start, misses FROM throttle WHERE scope = ? AND address = ?').get(scope, address) as
      ThrottleWindow | undefined;
  }

  addMiss(scope: string, address: string, now: number, staleBefore: number): void {
    // One statement, so two concurrent misses cannot both start a new window.
    this.db
      .prepare(
        `INSERT INTO throttle (scope, address, window_start, misses) VALUES (?, ?, ?, 1)
         ON CONFLICT (scope, address) DO UPDATE SET
           misses = CASE WHEN window_start <= ? THEN 1 ELSE misses + 1 END,
           window_start = CASE WHEN window_start <= ? THEN excluded.window_start ELSE window_start END`,
      )
      .run(scope, address, now, staleBefore, staleBefore);
  }

  prune(staleBefore: number): void {
    this.db.prepare('DELETE FROM throttle WHERE window_start <= ?').run(staleBefore);
  }
}

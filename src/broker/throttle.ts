// Throttling of guessable endpoints (login, session-code lookup): misses are counted per key (an
// address, or an account for logins) in fixed windows stored in the database, so restarting the
// broker does not reset them and every node of a cluster adds to the same count. Each scope has
// its own limit.
import type { Db } from './database.js';
import { Errors } from './errors.js';
import type { SqlExecutor } from './sql/sql-database.js';

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

/** Misses counted ahead of the work: refund() takes them back when the attempt turned out good, keep() confirms them when it failed. */
export interface Reservation {
  refund(): Promise<void>;
  /** The attempt failed: a key whose count reached its limit is blocked, here and (onBlocked) on every node. */
  keep(): void;
}

interface Row {
  window_start: number;
  misses: number;
}

/** Told when this node saw a key use up its misses: blocked until `until` (ms since the epoch). */
export type BlockListener = (scope: string, key: string, until: number) => void;

const RECORD_MISS = `INSERT INTO throttle (scope, address, window_start, misses) VALUES (?, ?, ?, 1)
  ON CONFLICT (scope, address) DO UPDATE SET
    misses = CASE WHEN throttle.window_start <= ? THEN 1 ELSE throttle.misses + 1 END,
    window_start = CASE WHEN throttle.window_start <= ? THEN excluded.window_start ELSE throttle.window_start END
  RETURNING window_start, misses`;

/**
 * Counts live in the database (one atomic upsert per miss, so every node adds to the same count);
 * the answer to check() comes from memory: a key whose recorded miss reached the limit is
 * "blocked until the window ends", and a refund that drops it below the limit lifts the block.
 * Requests that miss nothing cost no database round trip.
 */
export class Throttle {
  /** Told the scope of every refusal (the metrics count throttle hits). */
  onHit: ((scope: string) => void) | undefined;
  /** Told of every block this node found (other nodes can be told with block()). */
  onBlocked: BlockListener | undefined;
  /** `scope\nkey` → blocked until (ms). */
  private readonly blocks = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly limits: { fallback: ThrottleLimit; scopes: Readonly<Record<string, ThrottleLimit>> } = {
      fallback: DEFAULT_THROTTLE,
      scopes: SCOPE_LIMITS,
    },
    private readonly now: () => number = Date.now,
  ) {}

  /** Re-learns the blocks still running from the database (after a start: a restart resets nothing). */
  async load(): Promise<void> {
    const least = Math.min(this.limits.fallback.misses, ...Object.values(this.limits.scopes).map((limit) => limit.misses));
    const rows = await this.db.all<Row & { scope: string; address: string }>(
      'SELECT scope, address, window_start, misses FROM throttle WHERE misses >= ?',
      [least],
    );
    for (const row of rows) this.learn(row.scope, row.address, row);
  }

  /** Throws a 429 (with Retry-After) when the key has used up its misses in this window. */
  check(scope: string, key: string): void {
    const until = this.blocks.get(blockKey(scope, key));
    if (until === undefined) return;
    const now = this.now();
    if (until <= now) {
      this.blocks.delete(blockKey(scope, key));
      return;
    }
    this.onHit?.(scope);
    throw Errors.throttled(Math.max(1, Math.ceil((until - now) / 1000)), this.limitOf(scope).subject);
  }

  /** Blocks a key until `until` on this node only (a block another node found). */
  block(scope: string, key: string, until: number): void {
    if (until <= this.now()) return;
    const current = this.blocks.get(blockKey(scope, key)) ?? 0;
    if (until > current) this.blocks.set(blockKey(scope, key), until);
  }

  async recordMiss(scope: string, key: string): Promise<void> {
    this.learn(scope, key, await this.count(this.db, scope, key));
  }

  /**
   * Checks every key and counts a miss against each in one transaction, before the slow work (the
   * password hash): concurrent attempts, on any node, cannot together get past a limit (a count
   * past it rolls the transaction back). When a key is used up it throws that key's 429 and
   * counts nothing. A key that reached its limit is blocked only once the caller keeps the misses:
   * the attempt may still turn out good (a right password), and a block told to the other nodes
   * would outlive its refund there.
   */
  async reserve(keys: ThrottleKey[]): Promise<Reservation> {
    for (const { scope, key } of keys) this.check(scope, key);
    const reserved = await this.db.transaction(async (tx) => {
      const counted: (ThrottleKey & Row)[] = [];
      for (const { scope, key } of keys) counted.push({ scope, key, ...(await this.count(tx, scope, key)) });
      for (const row of counted) {
        // Past the limit: another attempt (on any node) used it up first. Remembered on this node
        // only; the others learn of it when that attempt keeps its miss.
        if (row.misses > this.limitOf(row.scope).misses) {
          this.block(row.scope, row.key, this.windowEnd(row.scope, row));
          this.check(row.scope, row.key);
        }
      }
      return counted;
    });
    let settled = false;
    return {
      refund: async () => {
        if (settled) return;
        settled = true;
        for (const row of reserved) await this.refund(row);
      },
      keep: () => {
        if (settled) return;
        settled = true;
        for (const row of reserved) this.learn(row.scope, row.key, row);
      },
    };
  }

  /** Forgets windows that have ended, in the database and in memory. */
  async prune(): Promise<void> {
    const now = this.now();
    const scoped = Object.keys(this.limits.scopes);
    for (const scope of scoped) {
      await this.db.run('DELETE FROM throttle WHERE scope = ? AND window_start <= ?', [
        scope,
        now - this.limitOf(scope).windowSeconds * 1000,
      ]);
    }
    const others = scoped.length ? `scope NOT IN (${scoped.map(() => '?').join(', ')}) AND ` : '';
    await this.db.run(`DELETE FROM throttle WHERE ${others}window_start <= ?`, [
      ...scoped,
      now - this.limits.fallback.windowSeconds * 1000,
    ]);
    for (const [key, until] of this.blocks) if (until <= now) this.blocks.delete(key);
  }

  private async count(db: SqlExecutor, scope: string, key: string): Promise<Row> {
    const now = this.now();
    const windowStart = now - this.limitOf(scope).windowSeconds * 1000;
    return (await db.get<Row>(RECORD_MISS, [scope, key, now, windowStart, windowStart]))!;
  }

  /** Only from the window the miss went into: a new window starts from zero anyway. */
  private async refund({ scope, key, window_start }: ThrottleKey & Row): Promise<void> {
    const row = await this.db.get<Row>(
      'UPDATE throttle SET misses = misses - 1 WHERE scope = ? AND address = ? AND window_start = ? AND misses > 0 RETURNING window_start, misses',
      [scope, key, window_start],
    );
    if (row && row.misses < this.limitOf(scope).misses) this.blocks.delete(blockKey(scope, key));
  }

  /** Blocks the key when its stored count reached the limit, and tells the listener. */
  private learn(scope: string, key: string, row: Row): void {
    if (row.misses < this.limitOf(scope).misses) return;
    const until = this.windowEnd(scope, row);
    if (until <= this.now()) return;
    const known = this.blocks.get(blockKey(scope, key));
    this.block(scope, key, until);
    if (known !== until) this.onBlocked?.(scope, key, until);
  }

  private windowEnd(scope: string, row: Row): number {
    return row.window_start + this.limitOf(scope).windowSeconds * 1000;
  }

  private limitOf(scope: string): ThrottleLimit {
    return this.limits.scopes[scope] ?? this.limits.fallback;
  }
}

const blockKey = (scope: string, key: string): string => `${scope}\n${key}`;

// Per-address throttling of failed attempts at guessable things (passwords, API keys, session
// codes): misses are counted in fixed windows, and an address that used up its misses waits for
// the window to end (429 with Retry-After). Where the windows live is the store's business.

export interface ThrottleWindow {
  start: number;
  misses: number;
}

export interface ThrottleStore {
  get(scope: string, address: string): ThrottleWindow | undefined;
  /** Counts one miss; a window that began at or before `staleBefore` is replaced by one starting `now`. */
  addMiss(scope: string, address: string, now: number, staleBefore: number): void;
  /** Forgets windows that began at or before `staleBefore`. */
  prune(staleBefore: number): void;
}

export interface ThrottleLimit {
  misses: number;
  windowMs: number;
}

export class FailedAuthThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly limit: ThrottleLimit,
    /** The catalog's 429, told how long to wait. */
    private readonly tooMany: (retryAfterSeconds: number) => Error,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws the 429 when the address has used up its misses in this window. */
  check(scope: string, address: string): void {
    const window = this.current(scope, address);
    if (window && window.misses >= this.limit.misses) {
      throw this.tooMany(Math.max(1, Math.ceil((window.start + this.limit.windowMs - this.now()) / 1000)));
    }
  }

  recordMiss(scope: string, address: string): void {
    const now = this.now();
    this.store.addMiss(scope, address, now, now - this.limit.windowMs);
  }

  /** Forgets windows that have ended. */
  prune(): void {
    this.store.prune(this.now() - this.limit.windowMs);
  }

  private current(scope: string, address: string): ThrottleWindow | undefined {
    const window = this.store.get(scope, address);
    if (!window || window.start <= this.now() - this.limit.windowMs) return undefined;
    return window;
  }
}

/** Windows in memory (lost on restart), at most `maxEntries` before ended ones are dropped. */
export class MemoryThrottleStore implements ThrottleStore {
  private readonly windows = new Map<string, ThrottleWindow>();

  constructor(private readonly maxEntries = 10_000) {}

  get(scope: string, address: string): ThrottleWindow | undefined {
    return this.windows.get(`${scope} ${address}`);
  }

  addMiss(scope: string, address: string, now: number, staleBefore: number): void {
    const window = this.get(scope, address);
    if (window && window.start > staleBefore) window.misses++;
    else this.windows.set(`${scope} ${address}`, { start: now, misses: 1 });
    if (this.windows.size > this.maxEntries) this.prune(staleBefore);
  }

  prune(staleBefore: number): void {
    for (const [key, window] of this.windows) if (window.start <= staleBefore) this.windows.delete(key);
  }
}

// UDP handshakes with a wrong session code, counted per source address across every session port:
// after WRONG_CODE_LIMIT in a window, that address's handshakes are ignored until the window ends,
// so nobody can sweep the ports guessing codes. In memory: a restart forgets, as UDP state does.

export const WRONG_CODE_LIMIT = 10;
export const WRONG_CODE_WINDOW_MS = 60_000;

interface Window {
  start: number;
  misses: number;
}

export class HandshakeThrottle {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly now: () => number = Date.now) {}

  /** True while this address has used up its wrong codes for the current window. */
  blocked(address: string): boolean {
    const window = this.current(address);
    return window !== undefined && window.misses >= WRONG_CODE_LIMIT;
  }

  recordWrongCode(address: string): void {
    const window = this.current(address);
    if (window) window.misses++;
    else this.windows.set(address, { start: this.now(), misses: 1 });
  }

  /** Forgets windows that have ended. */
  prune(): void {
    for (const [address, window] of this.windows) if (this.ended(window)) this.windows.delete(address);
  }

  private current(address: string): Window | undefined {
    const window = this.windows.get(address);
    return window && !this.ended(window) ? window : undefined;
  }

  private ended(window: Window): boolean {
    return this.now() - window.start >= WRONG_CODE_WINDOW_MS;
  }
}

// Desktop leases: what the Openctrol API (the Home Assistant integration) calls a "desktop
// session", named otherwise here so that "session" means a broker session only. POST
// /api/v1/sessions/desktop hands out an id and a token for /ws/desktop, valid for ttl_seconds
// (default 900, 60–3600).
import { randomBytes, randomUUID } from 'node:crypto';
import { keysEqual } from './auth.js';

export const DEFAULT_TTL_SECONDS = 900;
export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 3600;

export interface DesktopLease {
  id: string;
  token: string;
  haId: string | null;
  expiresAt: Date;
}

export class DesktopLeases {
  private readonly leases = new Map<string, DesktopLease>();
  private readonly endListeners = new Map<string, Set<() => void>>();

  constructor(private readonly now: () => number = Date.now) {}

  create(haId: string | null, ttlSeconds: number = DEFAULT_TTL_SECONDS): DesktopLease {
    this.prune();
    const ttl = Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, Math.round(ttlSeconds)));
    const lease: DesktopLease = {
      id: randomUUID(),
      token: randomBytes(32).toString('base64url'),
      haId,
      expiresAt: new Date(this.now() + ttl * 1000),
    };
    this.leases.set(lease.id, lease);
    return lease;
  }

  /** The live lease whose id and token both match, else undefined. */
  authenticate(id: string | null, token: string | null): DesktopLease | undefined {
    if (!id || !token) return undefined;
    const lease = this.get(id);
    if (!lease || !keysEqual(token, lease.token)) return undefined;
    return lease;
  }

  get(id: string): DesktopLease | undefined {
    const lease = this.leases.get(id);
    if (lease && lease.expiresAt.getTime() <= this.now()) {
      this.end(id);
      return undefined;
    }
    return lease;
  }

  /** Ends a lease and tells its WebSocket(s); false when it did not exist. */
  end(id: string): boolean {
    const existed = this.leases.delete(id);
    for (const listener of this.endListeners.get(id) ?? []) listener();
    this.endListeners.delete(id);
    return existed;
  }

  onEnd(id: string, listener: () => void): () => void {
    let set = this.endListeners.get(id);
    if (!set) this.endListeners.set(id, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  get activeCount(): number {
    this.prune();
    return this.leases.size;
  }

  prune(): void {
    for (const [id, s] of this.leases) if (s.expiresAt.getTime() <= this.now()) this.end(id);
  }

  endAll(): void {
    for (const id of [...this.leases.keys()]) this.end(id);
  }
}

// Desktop sessions of the Home Assistant integration: POST /api/v1/sessions/desktop hands out an
// id and a one-session token for /ws/desktop, valid for ttl_seconds (default 900, 60–3600).
import { randomBytes, randomUUID } from 'node:crypto';
import { keysEqual } from './auth.js';

export const DEFAULT_TTL_SECONDS = 900;
export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 3600;

export interface DesktopSession {
  id: string;
  token: string;
  haId: string | null;
  expiresAt: Date;
}

export class DesktopSessions {
  private readonly sessions = new Map<string, DesktopSession>();
  private readonly endListeners = new Map<string, Set<() => void>>();

  constructor(private readonly now: () => number = Date.now) {}

  create(haId: string | null, ttlSeconds: number = DEFAULT_TTL_SECONDS): DesktopSession {
    this.prune();
    const ttl = Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, Math.round(ttlSeconds)));
    const session: DesktopSession = {
      id: randomUUID(),
      token: randomBytes(32).toString('base64url'),
      haId,
      expiresAt: new Date(this.now() + ttl * 1000),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session whose id and token both match, else undefined. */
  authenticate(id: string | null, token: string | null): DesktopSession | undefined {
    if (!id || !token) return undefined;
    const session = this.get(id);
    if (!session || !keysEqual(token, session.token)) return undefined;
    return session;
  }

  get(id: string): DesktopSession | undefined {
    const session = this.sessions.get(id);
    if (session && session.expiresAt.getTime() <= this.now()) {
      this.end(id);
      return undefined;
    }
    return session;
  }

  /** Ends a session and tells its WebSocket(s); false when it did not exist. */
  end(id: string): boolean {
    const existed = this.sessions.delete(id);
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
    return this.sessions.size;
  }

  prune(): void {
    for (const [id, s] of this.sessions) if (s.expiresAt.getTime() <= this.now()) this.end(id);
  }

  endAll(): void {
    for (const id of [...this.sessions.keys()]) this.end(id);
  }
}

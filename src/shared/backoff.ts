// How long a client waits before its next reconnect attempt (the agent's session WebSocket, the
// viewer's): doubling from a base to a ceiling, so a broker that restarts is not stampeded and a
// client that lost its network comes back within seconds once it returns.

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 10_000;

/** The delay before attempt `attempt` (0 for the first retry): 0.5, 1, 2, 4, 8 then 10 s for every later one. */
export function backoffDelay(attempt: number, baseMs: number = BACKOFF_BASE_MS): number {
  return Math.min(BACKOFF_MAX_MS, baseMs * 2 ** Math.min(Math.max(0, attempt), 5));
}

// A session's relay counters live on the node that holds its UDP port. Asked on another node, the
// stats route asks the owner over its internal URL, with the caller's own Authorization header (the
// owner authorises as usual) and the forwarding headers (the owner answers for itself and never
// passes the request on). An owner that does not answer in time has no counters to give: null.
import type { NodeInfo } from './node-registry.js';

/** How long the owner may take to answer before the caller gets relay: null. */
export const OWNER_STATS_TIMEOUT_MS = 2000;

export type RelayFigures = Record<string, number | boolean>;

export async function ownerRelayCounters(
  owner: NodeInfo,
  sessionId: number,
  headers: Record<string, string>,
): Promise<RelayFigures | null> {
  const url = new URL(`/api/sessions/${sessionId}/stats`, owner.internal_url);
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(OWNER_STATS_TIMEOUT_MS) });
    if (response.status !== 200) return null;
    const body = (await response.json()) as { relay?: unknown };
    return isFigures(body.relay) ? body.relay : null;
  } catch {
    return null;
  }
}

const isFigures = (value: unknown): value is RelayFigures =>
  typeof value === 'object' &&
  value !== null &&
  Object.values(value).every((figure) => typeof figure === 'number' || typeof figure === 'boolean');

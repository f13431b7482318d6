// Concurrent requests against a throttle: resolve on the first 429 (it comes back at once, while
// the counted attempts are still being hashed), and count the statuses once all have answered.
import type { ApiResponse } from './broker-process.js';

/** Resolves when one of the requests is answered 429 (never, if none is). */
export function firstThrottled(requests: Promise<ApiResponse>[]): Promise<void> {
  return new Promise((resolve) => {
    for (const request of requests) void request.then((r) => r.status === 429 && resolve());
  });
}

/** How many responses had each status: { 401: 30, 429: 1 }. */
export function statusCounts(responses: ApiResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

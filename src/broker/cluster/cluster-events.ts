// What the nodes of one cluster tell each other over the bus: small hints, never the data itself.
// A receiver re-reads the row the event names (the database is the truth) and emits the same local
// events the hub already follows. Parsing never throws: a malformed payload is dropped.

export type ClusterEvent =
  /** A session's row changed (status, closed): its live connections follow the row. */
  | { type: 'session'; id: number }
  /** A user's row changed (disabled, role, token version): viewers are re-checked. */
  | { type: 'user'; id: number }
  /** The throttle blocked a key until `until` (ms since the epoch) on the sending node. */
  | { type: 'block'; scope: string; key: string; until: number };

/** An event as it travels: which node sent it. */
export type ClusterMessage = ClusterEvent & { from: string };

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; events stay well below. */
export const MAX_EVENT_BYTES = 7900;

export function encodeClusterMessage(message: ClusterMessage): string {
  const text = JSON.stringify(message);
  if (Buffer.byteLength(text) > MAX_EVENT_BYTES) {
    throw new Error(`cluster event ${message.type} is ${Buffer.byteLength(text)} bytes, over the ${MAX_EVENT_BYTES}-byte limit`);
  }
  return text;
}

const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

export function parseClusterMessage(text: string): ClusterMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.from !== 'string' || o.from === '') return undefined;
  if ((o.type === 'session' || o.type === 'user') && isId(o.id)) return { type: o.type, id: o.id, from: o.from };
  if (o.type === 'block' && typeof o.scope === 'string' && typeof o.key === 'string' && Number.isFinite(o.until)) {
    return { type: 'block', scope: o.scope, key: o.key, until: o.until as number, from: o.from };
  }
  return undefined;
}

// The `capabilities` control message (docs/protocol.md "Rectangles (type 7)"): sealed, a viewer
// says which encodings beyond whole frames it can take, and the agent answers with those it will
// send. A party that never sends it (the reference client, an older agent or viewer) gets whole
// type-1 frames, as before. Endpoints that do not know the message ignore it like any unknown type.
import { PacketType } from './datagram.js';
import type { JsonObject } from './json-fields.js';

/** `rect`: type-7 rectangles of what changed (rect-datagram.ts). */
export type Encoding = 'rect';
export const KNOWN_ENCODINGS: readonly Encoding[] = ['rect'];
export const CAPABILITIES_TYPE = 'capabilities';
/** A longer list is cut: nobody needs more, and the message stays small. */
const MAX_LISTED_ENCODINGS = 16;

/** The type-4 datagram `{"type":"capabilities","encodings":[…]}`. */
export function encodeCapabilities(encodings: readonly Encoding[]): Buffer {
  const json = Buffer.from(JSON.stringify({ type: CAPABILITIES_TYPE, encodings }), 'utf8');
  return Buffer.concat([Buffer.from([PacketType.CONTROL]), json]);
}

/**
 * The encodings we know among those a capabilities body lists (an unknown control message's body,
 * as parseControlMessage returns it). Unknown names and a missing or malformed list mean none.
 */
export function parseCapabilities(body: JsonObject): Encoding[] {
  const listed = body.encodings;
  if (!Array.isArray(listed)) return [];
  const known = listed.slice(0, MAX_LISTED_ENCODINGS).filter((name): name is Encoding => KNOWN_ENCODINGS.includes(name as Encoding));
  return [...new Set(known)];
}

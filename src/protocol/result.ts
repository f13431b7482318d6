// The result shape of every parser in src/protocol/: parsers never throw on input from the network,
// they return either the value or a machine-readable error code with a one-line message.

export type ProtocolErrorCode =
  | 'EMPTY' // zero-length datagram or message
  | 'TRUNCATED' // shorter than its type's fixed layout
  | 'TRAILING_BYTES' // longer than its type's fixed layout
  | 'BAD_TYPE' // unknown packet type byte
  | 'TOO_LARGE' // a JSON payload over its size cap
  | 'BAD_UTF8' // JSON payload that is not valid UTF-8
  | 'BAD_JSON' // not JSON, or JSON that is not an object
  | 'MISSING_TYPE' // JSON object without a string `type`
  | 'UNKNOWN_TYPE' // a `type` this parser does not know (only where unknown ones are not passed through)
  | 'BAD_FIELD' // a field is missing, of the wrong type or out of range
  | 'BAD_CHUNK_COUNT' // total chunks < 1, over the cap, or more chunks than image bytes
  | 'CHUNK_INDEX_OUT_OF_RANGE' // chunk index < 0 or ≥ total chunks
  | 'FRAME_TOO_LARGE' // total image size < 1 or over the cap
  | 'CHUNK_TOO_LARGE' // chunk payload empty or larger than the whole image
  | 'NOT_A_HANDSHAKE' // a datagram starting with `{` whose type is not "handshake"
  | 'WRONG_PAIR' // a sealed datagram of the other direction or another viewer's pair
  | 'REPLAYED' // a sealed datagram's counter already opened, or older than the replay window
  | 'BAD_TAG' // a sealed datagram that does not authenticate (forged, altered or truncated)
  | 'UNKNOWN_EPOCH'; // a sealed datagram's key epoch is neither current, next, nor previous in its grace

export interface ProtocolError {
  code: ProtocolErrorCode;
  message: string;
}

/** The failing half of every result type here, so one `fail(…)` fits all of them. */
export interface Failure {
  ok: false;
  error: ProtocolError;
}

export type ParseResult<T> = { ok: true; value: T } | Failure;

export const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
export const fail = (code: ProtocolErrorCode, message: string): Failure => ({ ok: false, error: { code, message } });

// Defaults of the session limits `rac serve` exposes as options. No imports: the command reads these
// without loading the broker.

/** Viewer WebSockets per session (--max-viewers). */
export const DEFAULT_MAX_VIEWERS = 4;
/** An active or disconnected session with no agent datagram and no viewer this long is closed (--idle-timeout). */
export const DEFAULT_IDLE_TIMEOUT_MS = 8 * 3_600_000;
/** The most --max-viewers accepts: viewer ids are uint16, shared by every session of the broker. */
export const MAX_VIEWERS_LIMIT = 1000;

// WebSocket close codes on /ws/session/{code}, for both sides. 1000–1015 are RFC 6455's; 4000–4999
// are ours. `isFinal` says whether reconnecting can help: the broker said no, or the session is over.

export const CloseCode = {
  /** The session ended (closed by the IT member, expired), or the peer said `disconnect`. */
  NORMAL: 1000,
  /** No live session with that code (reason "Session not found" or "Session closed"). */
  SESSION_GONE: 1008,
  /** The broker is shutting down: come back with backoff. */
  RESTARTING: 1012,
  /** This agent connection was replaced by a resume of the same agent (its secret, a new socket). */
  REPLACED: 4000,
  /** The viewer's login is no longer valid: token expired or revoked, user disabled or deleted. */
  NOT_AUTHENTICATED: 4001,
  /** The viewer's user may no longer open this session (not the owner, not an admin). */
  FORBIDDEN: 4003,
  /** A second agent tried to join while this session's agent is connected; the first is untouched. */
  AGENT_ALREADY_CONNECTED: 4009,
  /** The agent presented a secret that is not this session's. */
  BAD_AGENT_SECRET: 4010,
  /** The session already has as many viewers as the broker allows. */
  TOO_MANY_VIEWERS: 4029,
  // Tunnels (/ws/session/{code}/tunnel), the IT side:
  /** The customer did not allow a terminal and file transfers (no --allow-shell, or declined). */
  SHELL_NOT_ALLOWED: 4403,
  /** The customer's agent did not dial the tunnel's other end in time. */
  AGENT_NO_ANSWER: 4408,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

const FINAL: ReadonlySet<number> = new Set([
  CloseCode.SESSION_GONE,
  CloseCode.REPLACED,
  CloseCode.NOT_AUTHENTICATED,
  CloseCode.FORBIDDEN,
  CloseCode.AGENT_ALREADY_CONNECTED,
  CloseCode.BAD_AGENT_SECRET,
  CloseCode.TOO_MANY_VIEWERS,
  CloseCode.SHELL_NOT_ALLOWED,
]);

/** True when reconnecting cannot help (the broker refused or the session is gone). */
export const isFinalCloseCode = (code: number): boolean => FINAL.has(code);

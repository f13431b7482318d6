// Stream tokens of `rac shell` / `rac cp` / `rac tunnel`: the broker mints one per tunnel stream with
// the session's agent secret, the agent verifies it before it lets that stream reach its SSH server.
// A token names the IT member (email, full name), is bound to one session and one stream, and lives
// at most TUNNEL_TOKEN_MAX_LIFETIME_MS. Pure functions (node:crypto only), never a throw on input
// from the network.
//
// Format: "rt1." ‖ base64url(JSON payload) ‖ "." ‖ base64url(HMAC-SHA256(secret, label ‖ payload text)).

import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeKey } from './crypto/keys.js';

/** A stream token is valid for at most a minute: long enough to dial, too short to be worth stealing. */
export const TUNNEL_TOKEN_MAX_LIFETIME_MS = 60_000;
/** Tokens longer than this are refused unread (they travel as an SSH password and in JSON). */
export const TUNNEL_TOKEN_MAX_LENGTH = 2048;

const PREFIX = 'rt1.';
const LABEL = Buffer.from('rac tunnel token v1\0', 'utf8');
const MAX_NAME_LENGTH = 256;

export interface TunnelTokenClaims {
  sessionId: number;
  streamId: number;
  email: string;
  fullName: string;
  /** Milliseconds since the epoch (Date.now() scale). */
  expiresAt: number;
}

export interface MintTunnelTokenOptions extends TunnelTokenClaims {
  /** The session's agent secret (43 characters of base64url, as in agent_welcome). */
  agentSecret: string;
}

export type TunnelTokenRefusal =
  | 'malformed' // not a token of this format, or a field out of range
  | 'bad_signature' // not minted with this agent secret, or altered
  | 'expired' // expiresAt has passed
  | 'too_long_lived' // expiresAt is further than the maximum lifetime from now
  | 'wrong_session' // minted for another session
  | 'wrong_stream'; // minted for another stream of this session

export type TunnelTokenResult = { ok: true; claims: TunnelTokenClaims } | { ok: false; reason: TunnelTokenRefusal; message: string };

const isStreamId = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
const isSessionId = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isName = (s: unknown): s is string => typeof s === 'string' && s.length <= MAX_NAME_LENGTH;
const isTime = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function signature(secret: Buffer, payloadText: string): Buffer {
  return createHmac('sha256', secret).update(LABEL).update(payloadText, 'utf8').digest();
}

/**
 * The token for one stream. Throws (a programming error on the broker's side) for a malformed
 * secret or claims out of range; the lifetime cap is enforced by verifyTunnelToken against its clock.
 */
export function mintTunnelToken(options: MintTunnelTokenOptions): string {
  const secret = decodeKey(options.agentSecret);
  if (secret === undefined) throw new Error('the agent secret is not 43 characters of base64url: use the session’s agent_secret');
  const { sessionId, streamId, email, fullName, expiresAt } = options;
  if (!isSessionId(sessionId)) throw new RangeError(`session id ${sessionId}: must be a non-negative integer`);
  if (!isStreamId(streamId)) throw new RangeError(`stream id ${streamId}: must be 0–4294967295`);
  if (!isName(email) || email === '') throw new RangeError(`email: must be 1–${MAX_NAME_LENGTH} characters`);
  if (!isName(fullName)) throw new RangeError(`full name: must be at most ${MAX_NAME_LENGTH} characters`);
  if (!isTime(expiresAt)) throw new RangeError(`expiresAt ${expiresAt}: must be an integer (Date.now() scale)`);
  const payload = Buffer.from(JSON.stringify({ s: sessionId, n: streamId, e: email, f: fullName, x: expiresAt }), 'utf8').toString(
    'base64url',
  );
  return `${PREFIX}${payload}.${signature(secret, payload).toString('base64url')}`;
}

const refuse = (reason: TunnelTokenRefusal, message: string): TunnelTokenResult => ({ ok: false, reason, message });

function parseClaims(payload: string): TunnelTokenClaims | undefined {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const { s, n, e, f, x } = o as Record<string, unknown>;
  if (!isSessionId(s) || !isStreamId(n) || !isName(e) || e === '' || !isName(f) || !isTime(x)) return undefined;
  return { sessionId: s, streamId: n, email: e, fullName: f, expiresAt: x };
}

/** Whether `token` was minted with this secret for this session and stream, and is still valid at `now`. */
export function verifyTunnelToken(
  token: string,
  agentSecret: string,
  expected: { sessionId: number; streamId: number; now: number },
): TunnelTokenResult {
  const secret = decodeKey(agentSecret);
  if (secret === undefined) return refuse('malformed', 'the agent secret is malformed: the agent has no valid secret for this session');
  if (typeof token !== 'string' || token.length > TUNNEL_TOKEN_MAX_LENGTH || !token.startsWith(PREFIX))
    return refuse('malformed', 'not a rac stream token');
  const parts = token.slice(PREFIX.length).split('.');
  if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]!) || !/^[A-Za-z0-9_-]{43}$/.test(parts[1]!))
    return refuse('malformed', 'not a rac stream token');
  const [payload, mac] = parts as [string, string];
  const given = Buffer.from(mac, 'base64url');
  if (given.toString('base64url') !== mac || !timingSafeEqual(given, signature(secret, payload)))
    return refuse('bad_signature', 'the stream token was not minted for this session’s agent');
  const claims = parseClaims(payload);
  if (claims === undefined) return refuse('malformed', 'the stream token’s claims are malformed');
  if (claims.sessionId !== expected.sessionId) return refuse('wrong_session', 'the stream token belongs to another session');
  if (claims.streamId !== expected.streamId) return refuse('wrong_stream', 'the stream token belongs to another stream');
  if (claims.expiresAt <= expected.now) return refuse('expired', 'the stream token has expired: open the tunnel again');
  if (claims.expiresAt - expected.now > TUNNEL_TOKEN_MAX_LIFETIME_MS)
    return refuse('too_long_lived', `the stream token is valid for more than ${TUNNEL_TOKEN_MAX_LIFETIME_MS / 1000} s`);
  return { ok: true, claims };
}

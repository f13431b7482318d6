// The agent secret and the proof of it in the agent's UDP handshake (docs/security.md "Who may
// connect"). The broker hands the secret out over the WebSocket; the handshake proves knowledge of
// it without sending it, bound to the code and a timestamp the broker only accepts increasing.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const HANDSHAKE_PROOF_LABEL = 'rac agent handshake v1';

/** A fresh agent secret: base64url of 32 random bytes (43 characters). */
export function newAgentSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** base64url(HMAC-SHA256(secret, "rac agent handshake v1" ‖ code ‖ decimal timestamp)). */
export function agentHandshakeProof(secret: string, code: string, timestamp: number | bigint): string {
  return createHmac('sha256', Buffer.from(secret, 'base64url'))
    .update(HANDSHAKE_PROOF_LABEL)
    .update(code)
    .update(String(timestamp))
    .digest('base64url');
}

/** True when `proof` is the proof for this secret, code and timestamp; compared in constant time. */
export function verifyAgentHandshakeProof(secret: string, code: string, timestamp: number | bigint, proof: string): boolean {
  const expected = Buffer.from(agentHandshakeProof(secret, code, timestamp));
  const given = Buffer.from(proof);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

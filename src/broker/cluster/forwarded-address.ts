// A node that passes a WebSocket to the session's owner says whose it is: the client's address
// (the owner throttles and audits by it) with a proof made from the key every node shares, so
// a client cannot claim another address by sending the header itself.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const FORWARDED_FOR_HEADER = 'x-rac-node-forwarded-for';
export const FORWARDED_PROOF_HEADER = 'x-rac-node-forwarded-proof';

/** The per-cluster forwarding key: derived from the shared JWT key, never the key itself. */
export function forwardingKey(jwtKey: Buffer): Buffer {
  return createHmac('sha256', jwtKey).update('rac node forwarding v1').digest();
}

const proofOf = (key: Buffer, address: string): string => createHmac('sha256', key).update(address).digest('base64url');

export function forwardedHeaders(key: Buffer, address: string): Record<string, string> {
  return { [FORWARDED_FOR_HEADER]: address, [FORWARDED_PROOF_HEADER]: proofOf(key, address) };
}

/**
 * The client address another node vouched for, or undefined when the request did not come from a
 * node (no header, or a proof that does not match).
 */
export function forwardedAddress(request: IncomingMessage, key: Buffer): string | undefined {
  const address = request.headers[FORWARDED_FOR_HEADER];
  const proof = request.headers[FORWARDED_PROOF_HEADER];
  if (typeof address !== 'string' || typeof proof !== 'string') return undefined;
  const expected = Buffer.from(proofOf(key, address));
  const given = Buffer.from(proof);
  return given.length === expected.length && timingSafeEqual(given, expected) ? address : undefined;
}

/** Whether the request carries the forwarding headers at all (valid or not): such a request is never passed on again. */
export const isForwarded = (request: IncomingMessage): boolean => request.headers[FORWARDED_FOR_HEADER] !== undefined;

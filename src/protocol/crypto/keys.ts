// The key exchange of docs/security.md: ephemeral X25519 keys, the commitment to the viewer's key,
// the transcript hash, the two direction keys (HKDF-SHA256) and the security code (SAS) both people
// compare; and the agent secret with its handshake proof. node:crypto only, nothing clever.

import {
  type KeyObject,
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/** Raw X25519 public keys, shared secrets, direction keys and agent secrets are all 32 bytes. */
export const KEY_BYTES = 32;
const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;

const TRANSCRIPT_LABEL = Buffer.from('rac session v1', 'utf8');
const KEYS_INFO = 'rac keys v1';
const SAS_LABEL = Buffer.from('rac sas v1', 'utf8');
const HANDSHAKE_LABEL = Buffer.from('rac agent handshake v1', 'utf8');

export interface EphemeralKeyPair {
  /** The 32 raw bytes that travel in `agent_key` / `viewer_key` (base64url). */
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
}

/** A fresh X25519 key pair: one per exchange, never reused, never stored. */
export function generateEphemeralKeyPair(): EphemeralKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawPublicKey(publicKey), privateKey };
}

function rawPublicKey(key: KeyObject): Buffer {
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('node:crypto exported an X25519 public key without its "x" member');
  return Buffer.from(x, 'base64url');
}

/** base64url without padding: 43 characters for 32 bytes. */
export const encodeKey = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/** The 32 bytes of a key in canonical base64url, or undefined for anything else (never throws). */
export function decodeKey(text: string): Buffer | undefined {
  if (typeof text !== 'string' || !KEY_TEXT.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  // The 43rd character carries 2 spare bits: only one spelling of each key is accepted.
  return bytes.length === KEY_BYTES && bytes.toString('base64url') === text ? bytes : undefined;
}

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** What the viewer sends in `key_commit` before it has seen the agent's key. */
export const keyCommitment = (publicKey: Uint8Array): string => encodeKey(sha256(publicKey));

/** Whether a revealed key is the one committed to (constant time; false for a malformed commitment). */
export function matchesCommitment(publicKey: Uint8Array, commitment: string): boolean {
  const expected = decodeKey(commitment);
  return expected !== undefined && timingSafeEqual(sha256(publicKey), expected);
}

export interface Transcript {
  sessionCode: string;
  sessionId: number;
  viewerId: number;
  agentPublicKey: Uint8Array;
  viewerPublicKey: Uint8Array;
  /**
   * The agent's SSH host key line from `agent_key.ssh_host_key` (agents with --allow-shell), so the
   * security code both people compare also vouches for the host key `rac shell` will trust. Absent:
   * the transcript is exactly the one of agents and viewers before it existed.
   */
  sshHostKey?: string;
}

export interface PairKeys {
  /** Seals type-5 datagrams (the agent's sealer, the viewer's opener). */
  agentToViewer: Buffer;
  /** Seals type-6 datagrams (the viewer's sealer, the agent's opener). */
  viewerToAgent: Buffer;
  /** The security code, two groups of three digits: "482 019". */
  sas: string;
  transcriptHash: Buffer;
}

/**
 * The keys of one agent–viewer pair, the same on both sides. Throws for a peer key of the wrong
 * length, for keys that are not the transcript's, and for a peer key that gives an all-zero shared
 * secret (a low-order point: a peer forcing a key everybody knows).
 */
export function derivePairKeys(own: EphemeralKeyPair, peerPublicKey: Uint8Array, transcript: Transcript): PairKeys {
  checkTranscriptKeys(own.publicKey, peerPublicKey, transcript);
  const shared = sharedSecret(own.privateKey, peerPublicKey);
  const transcriptHash = transcriptHashOf(transcript);
  const okm = Buffer.from(hkdfSync('sha256', shared, transcriptHash, KEYS_INFO, 2 * KEY_BYTES));
  shared.fill(0);
  const code = sha256(SAS_LABEL, transcriptHash).readUInt32BE(0) % 1_000_000;
  const digits = String(code).padStart(6, '0');
  return {
    agentToViewer: okm.subarray(0, KEY_BYTES),
    viewerToAgent: okm.subarray(KEY_BYTES),
    sas: `${digits.slice(0, 3)} ${digits.slice(3)}`,
    transcriptHash,
  };
}

function checkTranscriptKeys(own: Buffer, peer: Uint8Array, transcript: Transcript): void {
  if (peer.byteLength !== KEY_BYTES) throw new Error(`peer public key of ${peer.byteLength} bytes: X25519 keys are ${KEY_BYTES}`);
  const { agentPublicKey: a, viewerPublicKey: v } = transcript;
  const ownIsAgent = own.equals(a) && Buffer.from(peer).equals(v);
  const ownIsViewer = own.equals(v) && Buffer.from(peer).equals(a);
  if (!ownIsAgent && !ownIsViewer) {
    throw new Error('the transcript must carry exactly the own and the peer public key (agent key, then viewer key)');
  }
}

const LOW_ORDER = 'the peer public key is a low-order X25519 point (all-zero shared secret): drop this key exchange';

function sharedSecret(privateKey: KeyObject, peer: Uint8Array): Buffer {
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: encodeKey(peer) }, format: 'jwk' });
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    throw new Error(LOW_ORDER); // OpenSSL refuses to derive an all-zero secret
  }
  if (shared.every((byte) => byte === 0)) throw new Error(LOW_ORDER); // in case another build does not
  return shared;
}

/**
 * SHA-256("rac session v1" ‖ u32be(len(code)) ‖ code ‖ u64be(session_id) ‖ u16be(viewer_id) ‖ A ‖ V
 * [‖ u32be(len(H)) ‖ H]), H being the agent's SSH host key line when it sent one.
 */
function transcriptHashOf(t: Transcript): Buffer {
  if (!Number.isSafeInteger(t.sessionId) || t.sessionId < 0)
    throw new RangeError(`session id ${t.sessionId}: must be a non-negative integer`);
  if (!Number.isInteger(t.viewerId) || t.viewerId < 0 || t.viewerId > 0xffff)
    throw new RangeError(`viewer id ${t.viewerId}: must be 0–65535`);
  const code = Buffer.from(t.sessionCode, 'utf8');
  const fields = Buffer.alloc(4 + 8 + 2);
  fields.writeUInt32BE(code.length, 0);
  fields.writeBigUInt64BE(BigInt(t.sessionId), 4);
  fields.writeUInt16BE(t.viewerId, 12);
  const parts = [TRANSCRIPT_LABEL, fields.subarray(0, 4), code, fields.subarray(4), t.agentPublicKey, t.viewerPublicKey];
  if (t.sshHostKey !== undefined) {
    const hostKey = Buffer.from(t.sshHostKey, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(hostKey.length, 0);
    parts.push(length, hostKey);
  }
  return sha256(...parts);
}

/** The secret the broker hands a customer's agent in `agent_welcome`. */
export const newAgentSecret = (): string => encodeKey(randomBytes(KEY_BYTES));

/**
 * base64url(HMAC-SHA256(secret, "rac agent handshake v1" ‖ code ‖ decimal timestamp)), the key being
 * the secret's 32 bytes. Throws for a malformed secret or a timestamp that is not a safe integer.
 */
export function agentHandshakeProof(agentSecret: string, sessionCode: string, timestamp: number): string {
  const secret = decodeKey(agentSecret);
  if (secret === undefined) throw new Error('the agent secret is not 43 characters of base64url: use the one from agent_welcome');
  if (!Number.isSafeInteger(timestamp)) throw new RangeError(`handshake timestamp ${timestamp}: must be an integer (Date.now())`);
  return createHmac('sha256', secret)
    .update(HANDSHAKE_LABEL)
    .update(sessionCode, 'utf8')
    .update(String(timestamp), 'utf8')
    .digest('base64url');
}

/** Whether `proof` is the agent's for this code and timestamp (constant time; false, never a throw, on bad input). */
export function verifyAgentHandshakeProof(agentSecret: string, sessionCode: string, timestamp: number, proof: string): boolean {
  const given = decodeKey(proof);
  if (given === undefined || typeof sessionCode !== 'string') return false;
  try {
    return timingSafeEqual(Buffer.from(agentHandshakeProof(agentSecret, sessionCode, timestamp), 'base64url'), given);
  } catch {
    return false;
  }
}

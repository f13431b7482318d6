// One direction of one agent–viewer pair (docs/security.md "Sealed datagrams"): the Sealer turns an
// inner datagram (types 1–4) into a type-5/6 datagram, the Opener does the reverse and refuses,
// and counts, anything not sealed by its peer for this pair, or already opened. ChaCha20-Poly1305
// with the 12-byte header as associated data and nonce = 4 zero bytes ‖ u64le(counter).

import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { MAX_UDP_DATAGRAM_BYTES } from '../chunker.js';
import { SEALED_HEADER_BYTES, SEALED_OVERHEAD_BYTES, SEALED_TAG_BYTES, type SealedPacket, encodeSealedHeader } from '../datagram.js';
import { type ParseResult, fail, ok } from '../result.js';
import { KEY_BYTES, type PairKeys } from './keys.js';
import { ReplayWindow } from './replay-window.js';

/** A sender moves to the next key epoch after this many datagrams under one key... */
export const REKEY_AFTER_DATAGRAMS = 2n ** 32n;
/** ...or after this long, whichever comes first. */
export const REKEY_AFTER_MS = 3_600_000;
/** How long a receiver still opens datagrams of the epoch before the current one. */
export const PREVIOUS_EPOCH_GRACE_MS = 30_000;
/** The largest inner datagram whose sealed form still fits one UDP datagram. */
export const MAX_SEALED_INNER_BYTES = MAX_UDP_DATAGRAM_BYTES - SEALED_OVERHEAD_BYTES;

const AEAD = 'chacha20-poly1305';
const NONCE_BYTES = 12;
const REKEY_INFO = 'rac rekey v1';
const NO_SALT = Buffer.alloc(0);

export interface ChannelOptions {
  /** The direction key of epoch 0 (copied: the channel forgets its own copies as it rekeys). */
  key: Buffer;
  /** Type 6 (viewer → agent) when true, type 5 (agent → viewer) when false. */
  toAgent: boolean;
  viewerId: number;
  now?: () => number;
  rekeyAfterDatagrams?: bigint;
  rekeyAfterMs?: number;
}

/** k(e+1) = HKDF-SHA256(ikm = k(e), salt = empty, info = "rac rekey v1", 32 bytes). */
export const nextEpochKey = (key: Buffer): Buffer => Buffer.from(hkdfSync('sha256', key, NO_SALT, REKEY_INFO, KEY_BYTES));

/** 4 zero bytes, then the counter as the header carries it (u64 little-endian at offset 4). */
function nonceOf(header: Buffer): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  header.copy(nonce, 4, 4, SEALED_HEADER_BYTES);
  return nonce;
}

function checkOptions(o: ChannelOptions): void {
  if (!Buffer.isBuffer(o.key) || o.key.length !== KEY_BYTES) throw new RangeError(`channel key: must be a Buffer of ${KEY_BYTES} bytes`);
  if (!Number.isInteger(o.viewerId) || o.viewerId < 0 || o.viewerId > 0xffff)
    throw new RangeError(`viewer id ${o.viewerId}: must be 0–65535`);
  const count = o.rekeyAfterDatagrams ?? REKEY_AFTER_DATAGRAMS;
  if (count < 1n || count > 2n ** 64n) throw new RangeError(`rekeyAfterDatagrams ${count}: must be 1–2^64`);
  const ms = o.rekeyAfterMs ?? REKEY_AFTER_MS;
  if (!(ms > 0)) throw new RangeError(`rekeyAfterMs ${ms}: must be positive`);
}

export class Sealer {
  private key: Buffer;
  private currentEpoch = 0;
  private counter = 0n;
  private sealedCount = 0;
  private epochStartedAt: number;
  private readonly now: () => number;
  private readonly rekeyAfterDatagrams: bigint;
  private readonly rekeyAfterMs: number;

  constructor(private readonly o: ChannelOptions) {
    checkOptions(o);
    this.key = Buffer.from(o.key);
    this.now = o.now ?? Date.now;
    this.rekeyAfterDatagrams = o.rekeyAfterDatagrams ?? REKEY_AFTER_DATAGRAMS;
    this.rekeyAfterMs = o.rekeyAfterMs ?? REKEY_AFTER_MS;
    this.epochStartedAt = this.now();
  }

  /** The key epoch of the next datagram (0–255, wraps). */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** Datagrams sealed so far, over all epochs. */
  get sealed(): number {
    return this.sealedCount;
  }

  /** header ‖ ciphertext ‖ tag of one inner datagram. Throws RangeError for an empty or oversized one. */
  seal(inner: Uint8Array): Buffer {
    if (inner.byteLength < 1 || inner.byteLength > MAX_SEALED_INNER_BYTES) {
      throw new RangeError(`inner datagram of ${inner.byteLength} bytes: must be 1–${MAX_SEALED_INNER_BYTES}`);
    }
    if (this.counter >= this.rekeyAfterDatagrams || this.now() - this.epochStartedAt >= this.rekeyAfterMs) this.rekey();
    const out = Buffer.allocUnsafe(SEALED_OVERHEAD_BYTES + inner.byteLength);
    const header = encodeSealedHeader({
      toAgent: this.o.toAgent,
      viewerId: this.o.viewerId,
      epoch: this.currentEpoch,
      counter: this.counter,
    });
    header.copy(out, 0);
    const cipher = createCipheriv(AEAD, this.key, nonceOf(header), { authTagLength: SEALED_TAG_BYTES });
    cipher.setAAD(header, { plaintextLength: inner.byteLength });
    cipher.update(inner).copy(out, SEALED_HEADER_BYTES);
    cipher.final();
    cipher.getAuthTag().copy(out, SEALED_HEADER_BYTES + inner.byteLength);
    this.counter++;
    this.sealedCount++;
    return out;
  }

  private rekey(): void {
    const next = nextEpochKey(this.key);
    this.key.fill(0); // a key stolen later must not open this epoch
    this.key = next;
    this.currentEpoch = (this.currentEpoch + 1) & 0xff;
    this.counter = 0n;
    this.epochStartedAt = this.now();
  }
}

export interface OpenerStats {
  opened: number;
  /** Counters already opened, or older than the replay window. */
  replayed: number;
  /** Datagrams whose tag did not verify under the key of their epoch. */
  forged: number;
  /** Datagrams of the other direction or of another viewer's pair. */
  wrongPair: number;
  /** Epochs neither current, next, nor previous within the grace period. */
  unknownEpoch: number;
}

/** One epoch's key and its replay window: the window is per epoch since counters restart at 0. */
interface EpochKeys {
  readonly epoch: number;
  readonly key: Buffer;
  readonly window: ReplayWindow;
}

const epochKeys = (epoch: number, key: Buffer): EpochKeys => ({ epoch: epoch & 0xff, key, window: new ReplayWindow() });

export class Opener {
  readonly stats: OpenerStats = { opened: 0, replayed: 0, forged: 0, wrongPair: 0, unknownEpoch: 0 };
  private current: EpochKeys;
  /** Derived once per epoch, not per datagram claiming it: forged claims cost one decryption. */
  private next: EpochKeys;
  private previous: EpochKeys | undefined;
  private previousUntil = 0;
  private readonly now: () => number;
  private readonly graceMs: number;

  constructor(private readonly o: ChannelOptions & { graceMs?: number }) {
    checkOptions(o);
    this.now = o.now ?? Date.now;
    this.graceMs = o.graceMs ?? PREVIOUS_EPOCH_GRACE_MS;
    this.current = epochKeys(0, Buffer.from(o.key));
    this.next = epochKeys(1, nextEpochKey(this.current.key));
  }

  /** The inner datagram, or a Failure that names why it was refused (never throws). */
  open(packet: SealedPacket): ParseResult<Buffer> {
    const { stats } = this;
    if (packet.toAgent !== this.o.toAgent || packet.viewerId !== this.o.viewerId) {
      stats.wrongPair++;
      const expected = `${this.o.toAgent ? 'to the agent' : 'to viewer'} ${this.o.viewerId}`;
      return fail(
        'WRONG_PAIR',
        `sealed datagram ${packet.toAgent ? 'to the agent' : 'to viewer'} ${packet.viewerId}: this channel opens those ${expected}`,
      );
    }
    const keys = this.keysFor(packet.epoch);
    if (keys === undefined) {
      stats.unknownEpoch++;
      return fail('UNKNOWN_EPOCH', `sealed datagram of key epoch ${packet.epoch}: this channel is at epoch ${this.current.epoch}`);
    }
    if (!keys.window.check(packet.counter)) {
      stats.replayed++;
      return fail('REPLAYED', `sealed datagram ${packet.counter} of epoch ${packet.epoch}: already opened or older than the replay window`);
    }
    const inner = openBody(keys.key, packet);
    if (inner === undefined) {
      stats.forged++;
      return fail('BAD_TAG', `sealed datagram ${packet.counter} of epoch ${packet.epoch}: authentication failed, dropped unread`);
    }
    keys.window.accept(packet.counter);
    if (keys === this.next) this.advance();
    stats.opened++;
    return ok(inner);
  }

  private keysFor(epoch: number): EpochKeys | undefined {
    if (epoch === this.current.epoch) return this.current;
    if (epoch === this.next.epoch) return this.next;
    if (this.previous === undefined || epoch !== this.previous.epoch) return undefined;
    if (this.now() < this.previousUntil) return this.previous;
    this.forgetPrevious();
    return undefined;
  }

  /** The peer has moved on: the current epoch becomes the previous one, for the grace period. */
  private advance(): void {
    this.forgetPrevious();
    this.previous = this.current;
    this.previousUntil = this.now() + this.graceMs;
    this.current = this.next;
    this.next = epochKeys(this.current.epoch + 1, nextEpochKey(this.current.key));
  }

  private forgetPrevious(): void {
    this.previous?.key.fill(0);
    this.previous = undefined;
  }
}

/** The inner datagram, or undefined when the tag does not verify (or the packet is malformed). */
function openBody(key: Buffer, packet: SealedPacket): Buffer | undefined {
  const innerBytes = packet.body.byteLength - SEALED_TAG_BYTES;
  if (innerBytes < 1) return undefined;
  try {
    // The associated data is rebuilt from the fields this channel acted on (the same 12 bytes for
    // any packet decodeDatagram produced), so what was checked is exactly what is authenticated.
    const header = encodeSealedHeader(packet);
    const decipher = createDecipheriv(AEAD, key, nonceOf(header), { authTagLength: SEALED_TAG_BYTES });
    decipher.setAAD(header, { plaintextLength: innerBytes });
    decipher.setAuthTag(packet.body.subarray(innerBytes));
    const inner = decipher.update(packet.body.subarray(0, innerBytes));
    decipher.final(); // throws on a bad tag: `inner` is then dropped unread
    return inner;
  } catch {
    return undefined;
  }
}

/** The sealer and opener of one side of a pair: each seals with its own direction's key. */
export function pairChannels(
  role: 'agent' | 'viewer',
  keys: PairKeys,
  viewerId: number,
  now?: () => number,
): { sealer: Sealer; opener: Opener } {
  const agent = role === 'agent';
  return {
    sealer: new Sealer({ key: agent ? keys.agentToViewer : keys.viewerToAgent, toAgent: !agent, viewerId, now }),
    opener: new Opener({ key: agent ? keys.viewerToAgent : keys.agentToViewer, toAgent: agent, viewerId, now }),
  };
}

// Both ends of clipboard transfers (type 8) over one sealed pair, agent ↔ one viewer. Loss is
// handled by the sender: a transfer not acknowledged within `retryMs` is sent again, whole, up to
// `attempts` times. The receiver holds one transfer at a time (a newer id replaces an unfinished
// older one: only the newest clipboard matters) and acknowledges a complete one once the
// application says it is in place (acknowledge()): the viewer's Ctrl+V after a paste waits for
// that. A repeat of the last completed transfer is acknowledged again, never delivered twice.

import {
  type ClipboardChunk,
  MAX_CLIPBOARD_BYTES,
  decodeClipboardPacket,
  encodeClipboardAck,
  encodeClipboardText,
  encodeClipboardTooLarge,
} from './clipboard-datagram.js';
import type { ProtocolError } from './result.js';

export const DEFAULT_CLIPBOARD_RETRY_MS = 1000;
export const DEFAULT_CLIPBOARD_ATTEMPTS = 4;
/**
 * Datagrams sent back to back, then a pause of CLIPBOARD_BURST_GAP_MS: about 2.3 MB/s, 1 MiB in half a
 * second. Faster, a receiver busy encoding a frame for 30 ms overflows its socket buffer.
 */
export const CLIPBOARD_BURST_DATAGRAMS = 8;
export const CLIPBOARD_BURST_GAP_MS = 4;

/** What arrived for the application: new text, the other side's over-size notice, or a bad packet. */
export type ClipboardReceived =
  | { kind: 'text'; text: string; transferId: number }
  | { kind: 'too_large'; totalBytes: number }
  | { kind: 'invalid'; error: ProtocolError };

export type ClipboardSendResult = { sent: true; bytes: number } | { sent: false; tooLarge: number };

export interface ClipboardChannelOptions {
  /** Seals and sends inner datagrams to the other end. */
  transmit(datagrams: Buffer[]): void;
  /** Every attempt went unanswered: the text did not arrive. */
  onGiveUp?(bytes: number): void;
  retryMs?: number;
  attempts?: number;
}

interface Incoming {
  transferId: number;
  chunkCount: number;
  totalBytes: number;
  chunks: (Uint8Array | undefined)[];
  received: number;
}

interface Outgoing {
  transferId: number;
  datagrams: Buffer[];
  bytes: number;
  attemptsLeft: number;
  timer?: NodeJS.Timeout;
  onDelivered?: () => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ClipboardChannel {
  private nextId = Math.floor(Math.random() * 0xffff_ffff);
  private outgoing: Outgoing | undefined;
  private incoming: Incoming | undefined;
  private lastCompleted: { transferId: number; acknowledged: boolean } | undefined;
  /** Transfers sent again for want of an acknowledgement. */
  resends = 0;

  constructor(private readonly options: ClipboardChannelOptions) {}

  /** Sends `text` (not empty), replacing any transfer still unacknowledged; over the cap, only a notice goes. */
  send(text: string, onDelivered?: () => void): ClipboardSendResult {
    this.cancel();
    const transferId = this.takeId();
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_CLIPBOARD_BYTES) {
      this.options.transmit([encodeClipboardTooLarge(transferId, bytes)]);
      return { sent: false, tooLarge: bytes };
    }
    const datagrams = encodeClipboardText(transferId, text);
    const attemptsLeft = this.options.attempts ?? DEFAULT_CLIPBOARD_ATTEMPTS;
    this.outgoing = { transferId, datagrams, bytes, attemptsLeft, onDelivered };
    this.attempt(this.outgoing);
    return { sent: true, bytes };
  }

  /** An opened type-8 datagram from the other end. */
  receive(inner: Uint8Array): ClipboardReceived | undefined {
    const decoded = decodeClipboardPacket(inner);
    if (!decoded.ok) return { kind: 'invalid', error: decoded.error };
    const packet = decoded.value;
    if (packet.kind === 'ack') {
      const delivered = this.outgoing?.transferId === packet.transferId ? this.outgoing.onDelivered : undefined;
      if (this.outgoing?.transferId === packet.transferId) this.cancel();
      delivered?.();
      return undefined;
    }
    if (packet.kind === 'too_large') return { kind: 'too_large', totalBytes: packet.totalBytes };
    return this.receiveChunk(packet);
  }

  /** The text of transfer `transferId` is in place: tell the sender (it stops resending). */
  acknowledge(transferId: number): void {
    if (this.lastCompleted?.transferId !== transferId) return;
    this.lastCompleted.acknowledged = true;
    this.options.transmit([encodeClipboardAck(transferId)]);
  }

  /** Stops resending (the session ended or paused). */
  cancel(): void {
    if (this.outgoing?.timer) clearTimeout(this.outgoing.timer);
    this.outgoing = undefined;
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    return id;
  }

  /** Sends the transfer in bursts (a 1 MiB burst would overflow the relay's socket buffer), then waits for the ack. */
  private attempt(transfer: Outgoing, from = 0): void {
    if (this.outgoing !== transfer) return;
    if (from === 0) transfer.attemptsLeft--;
    const to = Math.min(from + CLIPBOARD_BURST_DATAGRAMS, transfer.datagrams.length);
    this.options.transmit(transfer.datagrams.slice(from, to));
    const done = to === transfer.datagrams.length;
    transfer.timer = done
      ? setTimeout(() => this.retryOrGiveUp(transfer), this.options.retryMs ?? DEFAULT_CLIPBOARD_RETRY_MS)
      : setTimeout(() => this.attempt(transfer, to), CLIPBOARD_BURST_GAP_MS);
  }

  private retryOrGiveUp(transfer: Outgoing): void {
    if (this.outgoing !== transfer) return;
    if (transfer.attemptsLeft <= 0) {
      this.outgoing = undefined;
      this.options.onGiveUp?.(transfer.bytes);
      return;
    }
    this.resends++;
    this.attempt(transfer);
  }

  private receiveChunk(chunk: ClipboardChunk): ClipboardReceived | undefined {
    if (chunk.transferId === this.lastCompleted?.transferId) {
      if (this.lastCompleted.acknowledged) this.options.transmit([encodeClipboardAck(chunk.transferId)]);
      return undefined;
    }
    let transfer = this.incoming;
    if (!transfer || transfer.transferId !== chunk.transferId) {
      transfer = { transferId: chunk.transferId, chunkCount: chunk.chunkCount, totalBytes: chunk.totalBytes, chunks: [], received: 0 };
      this.incoming = transfer;
    }
    if (transfer.chunkCount !== chunk.chunkCount || transfer.totalBytes !== chunk.totalBytes) {
      this.incoming = undefined;
      return { kind: 'invalid', error: { code: 'BAD_FIELD', message: 'type-8 chunk disagrees with its transfer (count or size)' } };
    }
    if (transfer.chunks[chunk.chunkIndex]) return undefined;
    transfer.chunks[chunk.chunkIndex] = Uint8Array.from(chunk.data);
    transfer.received++;
    return transfer.received === transfer.chunkCount ? this.complete(transfer) : undefined;
  }

  private complete(transfer: Incoming): ClipboardReceived {
    this.incoming = undefined;
    const bytes = Buffer.concat(transfer.chunks as Uint8Array[]);
    if (bytes.length !== transfer.totalBytes) {
      return {
        kind: 'invalid',
        error: { code: 'BAD_FIELD', message: `type-8 transfer of ${bytes.length} bytes, announced ${transfer.totalBytes}` },
      };
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return { kind: 'invalid', error: { code: 'BAD_UTF8', message: 'type-8 text that is not valid UTF-8' } };
    }
    this.lastCompleted = { transferId: transfer.transferId, acknowledged: false };
    return { kind: 'text', text, transferId: transfer.transferId };
  }
}

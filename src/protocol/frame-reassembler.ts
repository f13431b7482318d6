// Turns type-1 chunks back into whole JPEG frames, keyed by frame id, in bounded memory. UDP loses,
// duplicates and reorders datagrams and anyone can send them, so: incomplete frames are dropped after
// a timeout, when too many are open at once and when their bytes would pass a cap (oldest id first);
// a newer complete frame drops older partial ones (a late frame is worth nothing to a live view);
// chunks of frames at or before the last delivered one, duplicates, and chunks of frames already
// dropped are ignored; a chunk that disagrees with its frame (other total/size) drops the frame.
// Every drop and ignore is counted by reason.

import type { FrameChunk } from './datagram.js';

export interface CompleteFrame {
  frameId: bigint;
  jpeg: Buffer;
  chunks: number;
}

export type FrameDropReason = 'timeout' | 'superseded' | 'inconsistent' | 'memory' | 'too_many_frames' | 'restart';
export type ChunkIgnoreReason = 'duplicate' | 'stale' | 'dropped_frame' | 'too_large' | 'invalid';

export interface ReassemblerStats {
  chunksAccepted: number;
  framesCompleted: number;
  framesDropped: Record<FrameDropReason, number>;
  chunksIgnored: Record<ChunkIgnoreReason, number>;
  /** Times the sender's ids went back (a restarted sender, or DateTime.Now after daylight saving). */
  streamRestarts: number;
  pendingFrames: number;
  bufferedBytes: number;
}

export interface ReassemblerOptions {
  /** Milliseconds, monotonic (e.g. performance.now); injected in tests. */
  now?: () => number;
  /** An incomplete frame is dropped this long after its first chunk. Default 2000. */
  timeoutMs?: number;
  /** Cap on bytes held by incomplete frames, bookkeeping included. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Cap on incomplete frames open at once. Default 8. */
  maxPendingFrames?: number;
  /** A chunk this many ticks older than the last delivered frame means the sender restarted. Default 10 s. */
  restartBackwardTicks?: bigint;
}

export type ReassemblerChunk = Omit<FrameChunk, 'type'>;

/** What one open frame and one stored chunk cost besides their JPEG bytes (objects, array slots). */
export const FRAME_OVERHEAD_BYTES = 256;
export const CHUNK_OVERHEAD_BYTES = 96;
const SLOT_BYTES = 8;
/** How many dropped frame ids are remembered so their late chunks do not reopen them. */
const REMEMBERED_DROPS = 64;
/** Distinct older frame ids that, after a stall, mean the sender started counting again. */
const RESTART_EVIDENCE_FRAMES = 3;

interface PendingFrame {
  frameId: bigint;
  totalChunks: number;
  totalSize: number;
  firstSeenAt: number;
  chunks: (Uint8Array | undefined)[];
  received: number;
  receivedBytes: number;
  cost: number;
}

const zeroDrops = (): Record<FrameDropReason, number> => ({
  timeout: 0,
  superseded: 0,
  inconsistent: 0,
  memory: 0,
  too_many_frames: 0,
  restart: 0,
});
const zeroIgnores = (): Record<ChunkIgnoreReason, number> => ({
  duplicate: 0,
  stale: 0,
  dropped_frame: 0,
  too_large: 0,
  invalid: 0,
});

export class FrameReassembler {
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly maxBufferedBytes: number;
  private readonly maxPendingFrames: number;
  private readonly restartBackwardTicks: bigint;

  private readonly pending = new Map<bigint, PendingFrame>();
  private readonly droppedIds = new Set<bigint>();
  private readonly staleIdsWhileStalled = new Set<bigint>();
  private buffered = 0;
  private lastDelivered: bigint | undefined;
  private lastDeliveredAt = 0;

  private chunksAccepted = 0;
  private framesCompleted = 0;
  private streamRestarts = 0;
  private readonly framesDropped = zeroDrops();
  private readonly chunksIgnored = zeroIgnores();

  constructor(options: ReassemblerOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.maxPendingFrames = options.maxPendingFrames ?? 8;
    this.restartBackwardTicks = options.restartBackwardTicks ?? 100_000_000n;
  }

  /**
   * Adds one chunk; returns the frame it completes, if any. The chunk's bytes are kept by reference
   * until the frame completes (one copy then), so a caller must not reuse that memory meanwhile
   * (Node's dgram gives each message its own Buffer).
   */
  push(chunk: ReassemblerChunk): CompleteFrame | undefined {
    const now = this.now();
    this.expire(now);
    const { frameId, chunkIndex, totalChunks, totalSize, data } = chunk;
    if (!isValidChunk(chunk)) return this.ignore('invalid');

    if (this.lastDelivered !== undefined && frameId <= this.lastDelivered) {
      if (!this.looksRestarted(frameId, now)) return this.ignore('stale');
      this.restart();
    }
    if (this.droppedIds.has(frameId)) return this.ignore('dropped_frame');

    let frame = this.pending.get(frameId);
    if (frame) {
      if (frame.totalChunks !== totalChunks || frame.totalSize !== totalSize) {
        this.drop(frame, 'inconsistent');
        return undefined;
      }
      if (frame.chunks[chunkIndex] !== undefined) return this.ignore('duplicate');
      if (frame.receivedBytes + data.byteLength > totalSize) {
        this.drop(frame, 'inconsistent');
        return undefined;
      }
    } else {
      const openCost = FRAME_OVERHEAD_BYTES + SLOT_BYTES * totalChunks;
      if (openCost + totalSize + CHUNK_OVERHEAD_BYTES * totalChunks > this.maxBufferedBytes) return this.ignore('too_large');
      if (!this.makeRoomForFrame(frameId)) return undefined;
      frame = {
        frameId,
        totalChunks,
        totalSize,
        firstSeenAt: now,
        chunks: new Array<Uint8Array | undefined>(totalChunks),
        received: 0,
        receivedBytes: 0,
        cost: openCost,
      };
      this.pending.set(frameId, frame);
      this.buffered += openCost;
    }

    const chunkCost = data.byteLength + CHUNK_OVERHEAD_BYTES;
    if (!this.makeRoomForBytes(frame, chunkCost)) return undefined;
    frame.chunks[chunkIndex] = data;
    frame.received += 1;
    frame.receivedBytes += data.byteLength;
    frame.cost += chunkCost;
    this.buffered += chunkCost;
    this.chunksAccepted += 1;

    if (frame.received < frame.totalChunks) return undefined;
    if (frame.receivedBytes !== frame.totalSize) {
      this.drop(frame, 'inconsistent');
      return undefined;
    }
    return this.deliver(frame, now);
  }

  /** Drops incomplete frames older than the timeout; push() does this too. Returns how many went. */
  expire(now: number = this.now()): number {
    let dropped = 0;
    for (const frame of this.pending.values()) {
      if (now - frame.firstSeenAt > this.timeoutMs) {
        this.drop(frame, 'timeout');
        dropped += 1;
      }
    }
    return dropped;
  }

  /** Forgets every open frame and the last delivered id (e.g. when the agent re-pins). Counters stay. */
  reset(): void {
    for (const frame of [...this.pending.values()]) this.release(frame);
    this.droppedIds.clear();
    this.staleIdsWhileStalled.clear();
    this.lastDelivered = undefined;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  get lastDeliveredFrameId(): bigint | undefined {
    return this.lastDelivered;
  }

  get stats(): ReassemblerStats {
    return {
      chunksAccepted: this.chunksAccepted,
      framesCompleted: this.framesCompleted,
      framesDropped: { ...this.framesDropped },
      chunksIgnored: { ...this.chunksIgnored },
      streamRestarts: this.streamRestarts,
      pendingFrames: this.pending.size,
      bufferedBytes: this.buffered,
    };
  }

  private deliver(frame: PendingFrame, now: number): CompleteFrame {
    const jpeg = Buffer.concat(frame.chunks as Uint8Array[], frame.totalSize);
    this.release(frame);
    this.framesCompleted += 1;
    this.lastDelivered = frame.frameId;
    this.lastDeliveredAt = now;
    this.staleIdsWhileStalled.clear();
    for (const older of [...this.pending.values()]) {
      if (older.frameId < frame.frameId) this.drop(older, 'superseded');
    }
    // Remembered drops at or below the delivered id are covered by the stale rule now.
    for (const id of this.droppedIds) if (id <= frame.frameId) this.droppedIds.delete(id);
    return { frameId: frame.frameId, jpeg, chunks: frame.totalChunks };
  }

  /**
   * Older ids mean a restarted sender when they jump back far (ticks), or when, with no frame
   * delivered for the timeout, several distinct older frames arrive (a sender counting from 1 again);
   * a late duplicate of one old frame is not enough.
   */
  private looksRestarted(frameId: bigint, now: number): boolean {
    if (this.lastDelivered === undefined) return false;
    if (this.lastDelivered - frameId > this.restartBackwardTicks) return true;
    if (now - this.lastDeliveredAt <= this.timeoutMs || frameId === this.lastDelivered) return false;
    this.staleIdsWhileStalled.add(frameId);
    return this.staleIdsWhileStalled.size >= RESTART_EVIDENCE_FRAMES;
  }

  private restart(): void {
    for (const frame of [...this.pending.values()]) this.drop(frame, 'restart');
    this.droppedIds.clear();
    this.staleIdsWhileStalled.clear();
    this.lastDelivered = undefined;
    this.streamRestarts += 1;
  }

  /** Keeps open frames under the cap by closing the oldest id; false if the new frame is the oldest. */
  private makeRoomForFrame(frameId: bigint): boolean {
    while (this.pending.size >= this.maxPendingFrames) {
      const oldest = this.oldestPending();
      if (!oldest || oldest.frameId > frameId) {
        this.framesDropped.too_many_frames += 1;
        this.remember(frameId);
        return false;
      }
      this.drop(oldest, 'too_many_frames');
    }
    return true;
  }

  /** Frees bytes for `frame` by dropping older-id frames; drops `frame` itself if it is the oldest. */
  private makeRoomForBytes(frame: PendingFrame, bytes: number): boolean {
    while (this.buffered + bytes > this.maxBufferedBytes) {
      const oldest = this.oldestPending();
      if (!oldest || oldest === frame) {
        this.drop(frame, 'memory');
        return false;
      }
      this.drop(oldest, 'memory');
    }
    return true;
  }

  private oldestPending(): PendingFrame | undefined {
    let oldest: PendingFrame | undefined;
    for (const frame of this.pending.values()) if (!oldest || frame.frameId < oldest.frameId) oldest = frame;
    return oldest;
  }

  private drop(frame: PendingFrame, reason: FrameDropReason): void {
    this.release(frame);
    this.framesDropped[reason] += 1;
    if (reason !== 'superseded' && reason !== 'restart') this.remember(frame.frameId);
  }

  private release(frame: PendingFrame): void {
    if (this.pending.delete(frame.frameId)) this.buffered -= frame.cost;
  }

  private remember(frameId: bigint): void {
    this.droppedIds.add(frameId);
    if (this.droppedIds.size > REMEMBERED_DROPS) {
      const first = this.droppedIds.values().next().value;
      if (first !== undefined) this.droppedIds.delete(first);
    }
  }

  private ignore(reason: ChunkIgnoreReason): undefined {
    this.chunksIgnored[reason] += 1;
    return undefined;
  }
}

/** The checks decodeDatagram already made, repeated for chunks built by other code. */
function isValidChunk(chunk: ReassemblerChunk): boolean {
  const { frameId, chunkIndex, totalChunks, totalSize, data } = chunk;
  return (
    typeof frameId === 'bigint' &&
    Number.isInteger(totalChunks) &&
    Number.isInteger(totalSize) &&
    Number.isInteger(chunkIndex) &&
    totalChunks >= 1 &&
    totalSize >= totalChunks &&
    chunkIndex >= 0 &&
    chunkIndex < totalChunks &&
    data instanceof Uint8Array &&
    data.byteLength >= 1 &&
    data.byteLength <= totalSize
  );
}

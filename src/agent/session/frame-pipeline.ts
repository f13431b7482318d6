// One tick of the stream: grab the monitor, skip it if nothing changed since the last frame sent
// (compared before encoding: an unchanged desktop costs a capture and a memcmp, nothing else),
// otherwise shrink it to --max-width, encode it as JPEG and split it into type-1 datagrams.
// A full frame still goes out every `keyframeIntervalMs` and whenever one is requested, so a
// viewer that joins late or lost a datagram gets a picture.
import { type ChunkSize, FrameIdGenerator, chunkFrame } from '../../protocol/index.js';
import { downscale, scaledSize } from '../platform/downscale.js';
import type { Rect, SessionCapture, SessionEncoder } from './platform.js';

export const DEFAULT_KEYFRAME_INTERVAL_MS = 3000;

export interface FramePipelineOptions {
  capture: SessionCapture;
  encoder: SessionEncoder;
  area: Rect;
  quality: number;
  maxWidth?: number;
  chunkSize?: ChunkSize;
  keyframeIntervalMs?: number;
  /** Milliseconds, monotonic; injected in tests. */
  now?: () => number;
}

export interface EncodedFrame {
  frameId: bigint;
  jpeg: Buffer;
  datagrams: Buffer[];
  width: number;
  height: number;
  /** Sent because it was due or requested (the picture may or may not have changed). */
  forced: boolean;
  captureMs: number;
  encodeMs: number;
}

export interface FramePipelineStats {
  captured: number;
  unchanged: number;
  encoded: number;
  jpegBytes: number;
  datagrams: number;
}

export class FramePipeline {
  private readonly capture: SessionCapture;
  private readonly encoder: SessionEncoder;
  private readonly maxWidth: number | undefined;
  private readonly chunkSize: ChunkSize | undefined;
  private readonly keyframeIntervalMs: number;
  private readonly now: () => number;
  private readonly frameIds = new FrameIdGenerator();
  private area: Rect;
  private quality: number;
  private previous: Buffer | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private keyframeRequested = true;
  readonly stats: FramePipelineStats = { captured: 0, unchanged: 0, encoded: 0, jpegBytes: 0, datagrams: 0 };

  constructor(options: FramePipelineOptions) {
    this.capture = options.capture;
    this.encoder = options.encoder;
    this.area = { ...options.area };
    this.quality = options.quality;
    this.maxWidth = options.maxWidth;
    this.chunkSize = options.chunkSize;
    this.keyframeIntervalMs = options.keyframeIntervalMs ?? DEFAULT_KEYFRAME_INTERVAL_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /** The size frames are sent at (the monitor's, or narrower under --max-width). */
  get outputSize(): { width: number; height: number } {
    return scaledSize(this.area.width, this.area.height, this.maxWidth);
  }

  get currentArea(): Rect {
    return { ...this.area };
  }

  get currentQuality(): number {
    return this.quality;
  }

  setArea(area: Rect): void {
    this.area = { ...area };
    this.requestKeyframe();
  }

  setQuality(quality: number): void {
    if (quality === this.quality) return;
    this.quality = quality;
    this.requestKeyframe();
  }

  requestKeyframe(): void {
    this.keyframeRequested = true;
  }

  /** Captures once; returns the frame to send, or undefined when the picture did not change. */
  next(): EncodedFrame | undefined {
    const started = this.now();
    const raw = this.capture.capture(this.area);
    const captured = this.now();
    this.stats.captured++;
    const forced = this.keyframeRequested || captured - this.lastSentAt >= this.keyframeIntervalMs;
    // A frame that goes out anyway needs no comparison.
    const changed = forced || this.previous === undefined || raw.data === this.previous || !raw.data.equals(this.previous);
    if (!changed && !forced) {
      this.stats.unchanged++;
      return undefined;
    }
    // The grab is kept by reference: robotjs hands out a new buffer per capture.
    this.previous = raw.data;
    const size = scaledSize(raw.width, raw.height, this.maxWidth);
    const jpeg = this.encoder.encode(downscale(raw, size.width, size.height), this.quality);
    const encoded = this.now();
    const frameId = this.frameIds.next();
    const datagrams = chunkFrame(jpeg, frameId, this.chunkSize);
    this.keyframeRequested = false;
    this.lastSentAt = encoded;
    this.stats.encoded++;
    this.stats.jpegBytes += jpeg.length;
    this.stats.datagrams += datagrams.length;
    return {
      frameId,
      jpeg,
      datagrams,
      width: size.width,
      height: size.height,
      forced,
      captureMs: captured - started,
      encodeMs: encoded - captured,
    };
  }
}

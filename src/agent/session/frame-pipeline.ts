// One tick of a session's stream: the shared capture step (platform/capture-encoder.ts: grab the
// monitor, skip an unchanged picture, shrink to --max-width, encode; a full frame every 3 s and on
// request), then the session's own part: a frame id and the type-1 datagrams that carry the JPEG.
import { type ChunkSize, FrameIdGenerator, chunkFrame } from '../../protocol/index.js';
import { CaptureEncoder, type CaptureEncoderOptions, type CaptureStats, type JpegFrame } from '../platform/capture-encoder.js';
import type { Rect } from '../platform/screen-capture.js';

export const DEFAULT_KEYFRAME_INTERVAL_MS = 3000;

export interface FramePipelineOptions extends Omit<CaptureEncoderOptions, 'keyframeIntervalMs'> {
  chunkSize?: ChunkSize;
  /** Default: every 3 s. */
  keyframeIntervalMs?: number;
}

/** A frame to send: the JPEG and what the capture step says of it, with its id and datagrams. */
export interface EncodedFrame extends JpegFrame {
  frameId: bigint;
  datagrams: Buffer[];
}

export interface FramePipelineStats extends CaptureStats {
  datagrams: number;
}

export class FramePipeline {
  private readonly frames: CaptureEncoder;
  private readonly chunkSize: ChunkSize | undefined;
  private readonly frameIds = new FrameIdGenerator();
  private datagrams = 0;

  constructor(options: FramePipelineOptions) {
    this.frames = new CaptureEncoder({ ...options, keyframeIntervalMs: options.keyframeIntervalMs ?? DEFAULT_KEYFRAME_INTERVAL_MS });
    this.chunkSize = options.chunkSize;
  }

  get stats(): FramePipelineStats {
    return { ...this.frames.stats, datagrams: this.datagrams };
  }

  /** The size frames are sent at (the monitor's, or narrower under --max-width). */
  get outputSize(): { width: number; height: number } {
    return this.frames.outputSize;
  }

  get currentArea(): Rect {
    return this.frames.currentArea;
  }

  get currentQuality(): number {
    return this.frames.currentQuality;
  }

  setArea(area: Rect): void {
    this.frames.setArea(area);
  }

  setQuality(quality: number): void {
    this.frames.setQuality(quality);
  }

  requestKeyframe(): void {
    this.frames.requestKeyframe();
  }

  /** Captures once; returns the frame and its datagrams, or undefined when the picture did not change. */
  next(): EncodedFrame | undefined {
    const frame = this.frames.next();
    if (!frame) return undefined;
    const frameId = this.frameIds.next();
    const datagrams = chunkFrame(frame.jpeg, frameId, this.chunkSize);
    this.datagrams += datagrams.length;
    return { frameId, datagrams, ...frame };
  }
}

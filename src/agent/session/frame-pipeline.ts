// One tick of a session's stream: the shared capture step (platform/capture-encoder.ts: grab the
// monitor, skip an unchanged picture, shrink to --max-width, encode; a full frame every 3 s and on
// request), then the session's own part: a frame id and the type-1 datagrams that carry the JPEG.
// With rectangles on (every viewer asked for them), a change goes as type-7 rectangles of the
// tiles that changed, each naming the update it applies on top of, and a whole frame is due only
// every 30 s.
import { type ChunkSize, FRAME_CHUNK_HEADER_BYTES, FrameIdGenerator, chunkFrame, chunkPayloadBytes } from '../../protocol/index.js';
import { chunkRects } from '../../protocol/rect-datagram.js';
import {
  CaptureEncoder,
  type CaptureEncoderOptions,
  type CaptureStats,
  type CaptureStep,
  type FrameUpdate,
  type JpegFrame,
  type JpegRect,
  type StepTiming,
  updateOf,
} from '../platform/capture-encoder.js';
import type { Rect } from '../platform/screen-capture.js';

export const DEFAULT_KEYFRAME_INTERVAL_MS = 3000;
/** With rectangles, a lost one is repaired on request: the periodic whole frame is only a safety net. */
export const RECT_KEYFRAME_INTERVAL_MS = 30_000;

export interface FramePipelineOptions extends Omit<CaptureEncoderOptions, 'keyframeIntervalMs'> {
  chunkSize?: ChunkSize;
  /** Default: every 3 s. */
  keyframeIntervalMs?: number;
}

/** An update to send: a whole frame (type 1) or rectangles (type 7), with its id and datagrams. */
export interface EncodedFrame {
  kind: 'full' | 'rects';
  frameId: bigint;
  datagrams: Buffer[];
  width: number;
  height: number;
  /** Whole frames: the JPEG; rectangles: none. */
  jpeg?: Buffer;
  rects?: JpegRect[];
  forced: boolean;
  /** Where the capture step's time went. */
  timing: StepTiming;
}

export interface FramePipelineStats extends CaptureStats {
  datagrams: number;
}

export class FramePipeline {
  private readonly frames: CaptureEncoder;
  private readonly chunkSize: ChunkSize | undefined;
  private readonly frameIds = new FrameIdGenerator();
  private readonly keyframeIntervalMs: number;
  private datagrams = 0;
  private rects = false;
  /** The id of the last update sent: what the next rectangles apply on top of. */
  private lastFrameId: bigint | undefined;

  constructor(options: FramePipelineOptions) {
    this.keyframeIntervalMs = options.keyframeIntervalMs ?? DEFAULT_KEYFRAME_INTERVAL_MS;
    this.frames = new CaptureEncoder({ ...options, keyframeIntervalMs: this.keyframeIntervalMs });
    this.chunkSize = options.chunkSize;
  }

  get sendsRects(): boolean {
    return this.rects;
  }

  /** Rectangles only when every receiver takes them; the periodic whole frame then comes every 30 s. */
  setRects(on: boolean): void {
    if (on === this.rects) return;
    this.rects = on;
    this.frames.setKeyframeInterval(on ? Math.max(this.keyframeIntervalMs, RECT_KEYFRAME_INTERVAL_MS) : this.keyframeIntervalMs);
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

  /** step()'s update, or undefined when there is none. */
  async next(): Promise<EncodedFrame | undefined> {
    return updateOf(await this.step());
  }

  /** Captures once (unless the display reported a still screen): the update and its datagrams, or why there is none. */
  async step(): Promise<CaptureStep<EncodedFrame>> {
    const step = this.rects ? await this.frames.stepUpdate() : await this.frames.step();
    if (step.outcome !== 'update') return step;
    return { outcome: 'update', update: this.framed(step.update) };
  }

  /** A frame id for the update, and its datagrams. */
  private framed(update: JpegFrame | FrameUpdate): EncodedFrame {
    const frameId = this.frameIds.next();
    const base = this.lastFrameId;
    this.lastFrameId = frameId;
    if ('rects' in update) {
      // The encoder cuts rectangles only against a frame it sent, so there is always a base.
      const datagrams = chunkRects(update.rects, frameId, base ?? frameId, this.datagramBytes());
      this.datagrams += datagrams.length;
      const { rects, width, height, timing } = update;
      return { kind: 'rects', frameId, datagrams, rects, width, height, forced: false, timing };
    }
    const datagrams = chunkFrame(update.jpeg, frameId, this.chunkSize);
    this.datagrams += datagrams.length;
    const { jpeg, width, height, forced, timing } = update;
    return { kind: 'full', frameId, datagrams, jpeg, width, height, forced, timing };
  }

  /** Rectangle datagrams are as large as the frame chunks (header included). */
  private datagramBytes(): number {
    return chunkPayloadBytes(this.chunkSize) + FRAME_CHUNK_HEADER_BYTES;
  }
}

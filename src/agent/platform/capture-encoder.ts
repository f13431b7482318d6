// One step of every screen stream the agent sends (Openctrol's /ws/desktop and a support session):
// grab an area, skip it if nothing changed since the last frame sent (compared before encoding: an
// unchanged desktop costs a capture and a memcmp, nothing else), otherwise shrink it to the
// maximum width and encode it as JPEG. A full frame still goes out every `keyframeIntervalMs` and
// whenever one is requested, so a client that joins late or lost a frame gets a picture. How the
// JPEG travels (OFRA messages, type-1 datagrams) and when the next step runs are the caller's.
// nextUpdate() is the same step for a receiver that takes rectangles: only the 64×64 tiles that
// changed since the last capture are encoded (dirty-tiles.ts), a whole frame when most changed.
// Where the capture backend reports changes (X DAMAGE), a step with nothing due and no change in
// the area since the last capture does not capture at all (counted as `still`).
import { cropFrame, dirtyRects } from './dirty-tiles.js';
import { downscale, scaledSize } from './downscale.js';
import type { JpegEncoder } from './jpeg-encoder.js';
import type { CapturedFrame, Rect, ScreenCapture } from './screen-capture.js';

export interface CaptureEncoderOptions {
  capture: ScreenCapture;
  encoder: JpegEncoder;
  area: Rect;
  /** JPEG quality 1–100. */
  quality: number;
  /** Frames wider than this are shrunk to it (aspect ratio kept); none: sent at the area's size. */
  maxWidth?: number;
  keyframeIntervalMs: number;
  /** Milliseconds, monotonic; injected in tests. */
  now?: () => number;
}

export interface JpegFrame {
  jpeg: Buffer;
  width: number;
  height: number;
  /** Sent because it was due or requested (the picture may or may not have changed). */
  forced: boolean;
  captureMs: number;
  encodeMs: number;
}

export interface CaptureStats {
  captured: number;
  unchanged: number;
  encoded: number;
  jpegBytes: number;
  /** Updates sent as rectangles (counted in `encoded` too) and the rectangles they held. */
  rectUpdates: number;
  rects: number;
  /** Steps that did not capture: the backend reported no change in the area since the last capture. */
  still: number;
}

/** One rectangle of an update, in the pixels of the frame as sent (after --max-width). */
export interface JpegRect extends Rect {
  jpeg: Buffer;
}

/** What nextUpdate() returns: a whole frame, or the rectangles that changed. */
export type FrameUpdate =
  ({ kind: 'full' } & JpegFrame) | { kind: 'rects'; rects: JpegRect[]; width: number; height: number; captureMs: number; encodeMs: number };

interface Grab {
  frame: CapturedFrame;
  forced: boolean;
  started: number;
  captured: number;
}

export class CaptureEncoder {
  private readonly capture: ScreenCapture;
  private readonly encoder: JpegEncoder;
  private readonly maxWidth: number | undefined;
  private keyframeIntervalMs: number;
  private readonly now: () => number;
  private area: Rect;
  private quality: number;
  private previous: Buffer | undefined;
  /** The last frame sent or compared, at the size frames are sent: what rectangles are cut against. */
  private previousOutput: CapturedFrame | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  /** The damage mark taken just before the last capture of this area (none: capture to know). */
  private damageMark: number | undefined;
  private keyframeRequested = true;
  /** Rectangles went out since the last whole frame (what the periodic whole frame would repair). */
  private rectsSinceFull = false;
  readonly stats: CaptureStats = { captured: 0, unchanged: 0, encoded: 0, jpegBytes: 0, rectUpdates: 0, rects: 0, still: 0 };

  constructor(options: CaptureEncoderOptions) {
    this.capture = options.capture;
    this.encoder = options.encoder;
    this.area = { ...options.area };
    this.quality = options.quality;
    this.maxWidth = options.maxWidth;
    this.keyframeIntervalMs = options.keyframeIntervalMs;
    this.now = options.now ?? (() => performance.now());
  }

  /** The size frames are sent at (the area's, or narrower under the maximum width). */
  get outputSize(): { width: number; height: number } {
    return scaledSize(this.area.width, this.area.height, this.maxWidth);
  }

  get currentArea(): Rect {
    return { ...this.area };
  }

  get currentQuality(): number {
    return this.quality;
  }

  /** Another area (monitor) is another picture: the next step sends it whatever it shows. */
  setArea(area: Rect): void {
    this.area = { ...area };
    this.damageMark = undefined;
    this.requestKeyframe();
  }

  setQuality(quality: number): void {
    // A sharper setting redraws the picture once; a lower one applies to what changes next (the
    // quality controller lowers it on a struggling link, where a whole frame is the last thing to add).
    if (quality > this.quality) this.requestKeyframe();
    this.quality = quality;
  }

  requestKeyframe(): void {
    this.keyframeRequested = true;
  }

  /** How often a whole frame goes out even when nothing changed (or only rectangles did). */
  setKeyframeInterval(ms: number): void {
    this.keyframeIntervalMs = ms;
  }

  /** Captures once (unless the backend reports a still screen); the frame to send, or undefined when the picture did not change. Rejects with what capture throws. */
  async next(): Promise<JpegFrame | undefined> {
    const grab = await this.grab();
    return grab && this.encodeFull(grab);
  }

  /** Like next(), but what changed goes as rectangles when that is cheaper than a whole frame. */
  async nextUpdate(): Promise<FrameUpdate | undefined> {
    // A still screen after a whole frame has nothing a viewer could have lost: no periodic frame then.
    const grab = await this.grab(!this.rectsSinceFull);
    if (!grab) return undefined;
    const previous = this.previousOutput;
    const dirty = !grab.forced && previous ? dirtyRects(previous, grab.frame) : { full: true as const };
    if (dirty.full) return { kind: 'full', ...this.encodeFull(grab) };
    this.previousOutput = grab.frame;
    // The raw picture changed but not what is sent (a change lost in the shrink): nothing to send.
    if (dirty.rects.length === 0) {
      this.stats.unchanged++;
      return undefined;
    }
    const rects = dirty.rects.map((rect) => ({ ...rect, jpeg: this.encoder.encode(cropFrame(grab.frame, rect), this.quality) }));
    const encoded = this.now();
    this.stats.encoded++;
    this.stats.rectUpdates++;
    this.stats.rects += rects.length;
    this.rectsSinceFull = true;
    this.stats.jpegBytes += rects.reduce((sum, r) => sum + r.jpeg.length, 0);
    const { width, height } = grab.frame;
    return { kind: 'rects', rects, width, height, captureMs: grab.captured - grab.started, encodeMs: encoded - grab.captured };
  }

  /** Captures and shrinks; undefined when the picture is the one last sent and nothing is due. */
  private async grab(skipPeriodic = false): Promise<Grab | undefined> {
    const started = this.now();
    const due = !skipPeriodic && started - this.lastSentAt >= this.keyframeIntervalMs;
    const forced = this.keyframeRequested || due;
    if (!forced && this.reportedStill()) {
      this.stats.still++;
      return undefined;
    }
    const mark = this.capture.damage?.mark();
    const raw = await this.capture.capture(this.area);
    this.damageMark = mark;
    const captured = this.now();
    this.stats.captured++;
    // A frame that goes out anyway needs no comparison; a capture that reuses its buffer cannot be compared.
    if (!forced && this.previous !== undefined && raw.data !== this.previous && raw.data.equals(this.previous)) {
      this.stats.unchanged++;
      return undefined;
    }
    // The grab is kept by reference: every backend hands out a new buffer per capture.
    this.previous = raw.data;
    const size = scaledSize(raw.width, raw.height, this.maxWidth);
    return { frame: downscale(raw, size.width, size.height), forced, started, captured };
  }

  /** The backend reports changes and none touched the area since the last capture of it. */
  private reportedStill(): boolean {
    const damage = this.capture.damage;
    if (!damage || this.damageMark === undefined || this.previous === undefined) return false;
    return damage.changedSince(this.damageMark, this.area).length === 0;
  }

  private encodeFull(grab: Grab): JpegFrame {
    const { frame, forced, started, captured } = grab;
    this.previousOutput = frame;
    this.rectsSinceFull = false;
    const jpeg = this.encoder.encode(frame, this.quality);
    const encoded = this.now();
    this.keyframeRequested = false;
    this.lastSentAt = encoded;
    this.stats.encoded++;
    this.stats.jpegBytes += jpeg.length;
    return { jpeg, width: frame.width, height: frame.height, forced, captureMs: captured - started, encodeMs: encoded - captured };
  }
}

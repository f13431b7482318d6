// One step of every screen stream the agent sends (Openctrol's /ws/desktop and a support session):
// grab an area, skip it if nothing changed since the last frame sent (compared before encoding: an
// unchanged desktop costs a capture and a memcmp, nothing else), otherwise shrink it to the
// maximum width and encode it as JPEG. A full frame still goes out every `keyframeIntervalMs` and
// whenever one is requested, so a client that joins late or lost a frame gets a picture. How the
// JPEG travels (OFRA messages, type-1 datagrams) and when the next step runs are the caller's.
// nextUpdate() is the same step for a receiver that takes rectangles: only the 64×64 tiles that
// changed since the last capture are encoded (dirty-tiles.ts), a whole frame when most changed.
// Where the capture backend reports changes (X DAMAGE), a step with nothing due and no change in
// the area since the last capture does not capture at all (counted as `still`), and a step after
// small changes captures only the regions reported changed (at most MAX_CAPTURE_REGIONS, aligned
// to the tiles) and compares only those: a 1080p capture and compare cost ~8 MB of copying and
// comparing for a change of a few tiles. The backend's reports are trusted that far only: at least
// every `fullCompareIntervalMs` a step captures and compares the whole area, so a change the
// display did not report is still sent within that interval.
import { DEFAULT_FULL_FRAME_SHARE, type DirtyResult, cropFrame, dirtyRects, dirtyRectsIn, tileRegions } from './dirty-tiles.js';
import { downscale, scaledSize } from './downscale.js';
import type { JpegEncoder } from './jpeg-encoder.js';
import type { CapturedFrame, Rect, ScreenCapture } from './screen-capture.js';

/** Regions captured at most instead of the whole area (each is one capture request). */
export const MAX_CAPTURE_REGIONS = 4;
/** The whole area is captured and compared at least this often, reported changes or not. */
export const DEFAULT_FULL_COMPARE_INTERVAL_MS = 1000;

export interface CaptureEncoderOptions {
  capture: ScreenCapture;
  encoder: JpegEncoder;
  area: Rect;
  /** JPEG quality 1–100. */
  quality: number;
  /** Frames wider than this are shrunk to it (aspect ratio kept); none: sent at the area's size. */
  maxWidth?: number;
  keyframeIntervalMs: number;
  /** Default: DEFAULT_FULL_COMPARE_INTERVAL_MS (only where the backend reports changes). */
  fullCompareIntervalMs?: number;
  /** Milliseconds, monotonic; injected in tests. */
  now?: () => number;
}

export type JpegFrame = {
  jpeg: Buffer;
  width: number;
  height: number;
  /** Sent because it was due or requested (the picture may or may not have changed). */
  forced: boolean;
  timing: StepTiming;
};

/** Where the step's time went (performance.now() milliseconds): behind the latency trace and benches. */
export interface StepTiming {
  /** When the capture started. */
  startedAt: number;
  captureMs: number;
  /** Comparing with the last picture and shrinking to the maximum width. */
  compareMs: number;
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
  /** Steps that captured only the regions reported changed (counted in `captured` too). */
  regionCaptures: number;
}

/** One rectangle of an update, in the pixels of the frame as sent (after --max-width). */
export interface JpegRect extends Rect {
  jpeg: Buffer;
}

/** What nextUpdate() returns: a whole frame, or the rectangles that changed. */
export type FrameUpdate =
  ({ kind: 'full' } & JpegFrame) | { kind: 'rects'; rects: JpegRect[]; width: number; height: number; timing: StepTiming };

/**
 * What one step did: an update to send, a capture that found nothing to send (`unchanged`), or no
 * capture at all because the backend reported no change in the area (`not-captured`, counted as `still`).
 */
export type CaptureStep<T> = { outcome: 'update'; update: T } | NoUpdate;
export type NoUpdate = { outcome: 'unchanged' } | { outcome: 'not-captured' };
const UNCHANGED: NoUpdate = { outcome: 'unchanged' };
const NOT_CAPTURED: NoUpdate = { outcome: 'not-captured' };

/** The step's update, or undefined when it had none. */
export const updateOf = <T>(step: CaptureStep<T>): T | undefined => (step.outcome === 'update' ? step.update : undefined);

interface Grab {
  frame: CapturedFrame;
  forced: boolean;
  started: number;
  captured: number;
  /** Only regions were captured: what changed in them (the frame is updated in place). */
  patched?: DirtyResult;
}

export class CaptureEncoder {
  private readonly capture: ScreenCapture;
  private readonly encoder: JpegEncoder;
  private readonly maxWidth: number | undefined;
  private keyframeIntervalMs: number;
  private readonly fullCompareIntervalMs: number;
  /** When the whole area was last captured and compared. */
  private lastWholeAt = Number.NEGATIVE_INFINITY;
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
  readonly stats: CaptureStats = {
    captured: 0,
    unchanged: 0,
    encoded: 0,
    jpegBytes: 0,
    rectUpdates: 0,
    rects: 0,
    still: 0,
    regionCaptures: 0,
  };

  constructor(options: CaptureEncoderOptions) {
    this.capture = options.capture;
    this.encoder = options.encoder;
    this.area = { ...options.area };
    this.quality = options.quality;
    this.maxWidth = options.maxWidth;
    this.keyframeIntervalMs = options.keyframeIntervalMs;
    this.fullCompareIntervalMs = options.fullCompareIntervalMs ?? DEFAULT_FULL_COMPARE_INTERVAL_MS;
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

  /** step()'s frame, or undefined when there is none. */
  async next(): Promise<JpegFrame | undefined> {
    return updateOf(await this.step());
  }

  /** stepUpdate()'s update, or undefined when there is none. */
  async nextUpdate(): Promise<FrameUpdate | undefined> {
    return updateOf(await this.stepUpdate());
  }

  /** Captures once (unless the backend reports a still screen): the frame to send, or why there is none. Rejects with what capture throws. */
  async step(): Promise<CaptureStep<JpegFrame>> {
    const grab = await this.grab();
    if (!('frame' in grab)) return grab;
    // The compare (whole picture) and the shrink were the grab's.
    return { outcome: 'update', update: this.encodeFull(grab, this.now()) };
  }

  /** Like step(), but what changed goes as rectangles when that is cheaper than a whole frame. */
  async stepUpdate(): Promise<CaptureStep<FrameUpdate>> {
    // A still screen after a whole frame has nothing a viewer could have lost: no periodic frame then.
    const grab = await this.grab(!this.rectsSinceFull);
    if (!('frame' in grab)) return grab;
    const previous = this.previousOutput;
    const dirty = grab.patched ?? (!grab.forced && previous ? dirtyRects(previous, grab.frame) : { full: true as const });
    const compared = this.now();
    if (dirty.full) return { outcome: 'update', update: { kind: 'full', ...this.encodeFull(grab, compared) } };
    this.previousOutput = grab.frame;
    // The raw picture changed but not what is sent (a change lost in the shrink): nothing to send.
    if (dirty.rects.length === 0) {
      this.stats.unchanged++;
      return UNCHANGED;
    }
    const rects = dirty.rects.map((rect) => ({ ...rect, jpeg: this.encoder.encode(cropFrame(grab.frame, rect), this.quality) }));
    const encoded = this.now();
    this.stats.encoded++;
    this.stats.rectUpdates++;
    this.stats.rects += rects.length;
    this.rectsSinceFull = true;
    this.stats.jpegBytes += rects.reduce((sum, r) => sum + r.jpeg.length, 0);
    const { width, height } = grab.frame;
    return { outcome: 'update', update: { kind: 'rects', rects, width, height, timing: stepTiming(grab, compared, encoded) } };
  }

  /** Captures and shrinks; none when the picture is the one last sent and nothing is due. */
  private async grab(skipPeriodic = false): Promise<Grab | NoUpdate> {
    const started = this.now();
    const due = !skipPeriodic && started - this.lastSentAt >= this.keyframeIntervalMs;
    const forced = this.keyframeRequested || due;
    const wholeDue = started - this.lastWholeAt >= this.fullCompareIntervalMs;
    if (!forced && !wholeDue && this.reportedStill()) {
      this.stats.still++;
      return NOT_CAPTURED;
    }
    const regions = forced || wholeDue ? undefined : this.changedRegions();
    if (regions) return this.grabRegions(regions, started, skipPeriodic);
    const mark = this.capture.damage?.mark();
    const raw = await this.capture.capture(this.area);
    this.damageMark = mark;
    this.lastWholeAt = started;
    const captured = this.now();
    this.stats.captured++;
    // A frame that goes out anyway needs no comparison; a capture that reuses its buffer cannot be compared.
    if (!forced && this.previous !== undefined && raw.data !== this.previous && raw.data.equals(this.previous)) {
      this.stats.unchanged++;
      return UNCHANGED;
    }
    // The grab is kept by reference: every backend hands out a new buffer per capture.
    this.previous = raw.data;
    const size = scaledSize(raw.width, raw.height, this.maxWidth);
    const frame = downscale(raw, size.width, size.height);
    return { frame, forced, started, captured };
  }

  /**
   * The regions the backend reported changed since the last capture, tile-aligned and merged, when
   * capturing only them pays: undefined (capture the whole area) without reports or a picture to
   * patch (none yet, or one shrunk under the maximum width), or when much or scattered changed.
   */
  private changedRegions(): Rect[] | undefined {
    const damage = this.capture.damage;
    const picture = this.previousOutput;
    if (!damage || this.damageMark === undefined || !picture || picture.data !== this.previous) return undefined;
    const { width, height } = this.area;
    if (picture.width !== width || picture.height !== height) return undefined;
    const regions = tileRegions(damage.changedSince(this.damageMark, this.area), width, height, MAX_CAPTURE_REGIONS);
    const share = regions?.reduce((sum, r) => sum + r.width * r.height, 0) ?? Number.POSITIVE_INFINITY;
    return share <= width * height * DEFAULT_FULL_FRAME_SHARE ? regions : undefined;
  }

  /** Captures `regions` only and patches them into the last picture; none when none changed. */
  private async grabRegions(regions: Rect[], started: number, skipPeriodic: boolean): Promise<Grab | NoUpdate> {
    const picture = this.previousOutput!;
    const mark = this.capture.damage!.mark();
    const patches = [];
    for (const rect of regions) {
      const frame = await this.capture.capture({ ...rect, x: this.area.x + rect.x, y: this.area.y + rect.y });
      patches.push({ rect, frame });
    }
    // The screen shrank under the area (a monitor went): the whole capture sorts it out.
    if (patches.some(({ rect, frame }) => frame.width !== rect.width || frame.height !== rect.height)) {
      this.lastWholeAt = Number.NEGATIVE_INFINITY;
      return this.grab(skipPeriodic);
    }
    this.damageMark = mark;
    const captured = this.now();
    this.stats.captured++;
    this.stats.regionCaptures++;
    const patched = dirtyRectsIn(picture, patches);
    if (!patched.full && patched.rects.length === 0) {
      this.stats.unchanged++;
      return UNCHANGED;
    }
    return { frame: picture, forced: false, started, captured, patched };
  }

  /** The backend reports changes and none touched the area since the last capture of it. */
  private reportedStill(): boolean {
    const damage = this.capture.damage;
    if (!damage || this.damageMark === undefined || this.previous === undefined) return false;
    return damage.changedSince(this.damageMark, this.area).length === 0;
  }

  /** `compared`: when the step was done comparing (and shrinking), the encode's start. */
  private encodeFull(grab: Grab, compared: number): JpegFrame {
    const { frame, forced } = grab;
    this.previousOutput = frame;
    this.rectsSinceFull = false;
    const jpeg = this.encoder.encode(frame, this.quality);
    const encoded = this.now();
    this.keyframeRequested = false;
    this.lastSentAt = encoded;
    this.stats.encoded++;
    this.stats.jpegBytes += jpeg.length;
    return { jpeg, width: frame.width, height: frame.height, forced, timing: stepTiming(grab, compared, encoded) };
  }
}

function stepTiming({ started, captured }: Grab, compared: number, encoded: number): StepTiming {
  return { startedAt: started, captureMs: captured - started, compareMs: compared - captured, encodeMs: encoded - compared };
}

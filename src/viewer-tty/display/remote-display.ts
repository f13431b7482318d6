// The remote screen as the viewer shows it: one decoder per encoding (whole frames, rectangles)
// feeding one compositor. When rectangles cannot be applied (one was lost, or its base), a whole
// frame is asked for at once and again every second until one arrives, so a loss is repaired
// within about a second.
import type { CompleteRect } from '../../protocol/rect-datagram.js';
import { applyFullFrame } from '../decoders/full-frame.js';
import { RectDecoder } from '../decoders/rect.js';
import type { Region } from '../graphics/fit.js';
import type { RgbImage } from '../graphics/rgb-image.js';
import { Compositor } from './compositor.js';

export const KEYFRAME_RETRY_MS = 1000;
const CHECK_EVERY_MS = 100;

export interface RemoteDisplayOptions {
  /** The composed picture changed: paint it. */
  changed(): void;
  /** Ask the agent for a whole frame. */
  requestKeyframe(): void;
  now?: () => number;
}

export class RemoteDisplay {
  private readonly compositor = new Compositor();
  private readonly rects: RectDecoder;
  private readonly now: () => number;
  private lastRequestAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  /** Whole frames that did not decode. */
  fullFrameErrors = 0;
  /** Whole frames asked for to repair rectangles. */
  repairs = 0;

  constructor(private readonly options: RemoteDisplayOptions) {
    this.now = options.now ?? (() => performance.now());
    this.rects = new RectDecoder(this.now);
  }

  get picture(): RgbImage | undefined {
    return this.compositor.picture;
  }

  get frameId(): bigint | undefined {
    return this.compositor.frameId;
  }

  /** The regions of the picture changed since the last call (undefined: all of it), for a paint. */
  takeChanged(): Region[] | undefined {
    return this.compositor.takeChanged();
  }

  get decodeErrors(): number {
    return this.fullFrameErrors + this.rects.decodeErrors;
  }

  fullFrame(jpeg: Uint8Array, frameId: bigint): void {
    let applied: boolean;
    try {
      applied = applyFullFrame(jpeg, frameId, this.compositor);
    } catch {
      this.fullFrameErrors++;
      this.options.requestKeyframe();
      return;
    }
    if (!applied) return;
    this.lastRequestAt = Number.NEGATIVE_INFINITY;
    this.rects.afterFullFrame(this.compositor);
    this.options.changed();
  }

  rect(rect: CompleteRect): void {
    this.timer ??= setInterval(() => this.check(), CHECK_EVERY_MS).unref();
    if (this.rects.push(rect, this.compositor)) this.options.changed();
    this.check();
  }

  /** Asks for a whole frame when rectangles cannot be applied (at most once a second). */
  check(): void {
    if (!this.rects.needsFullFrame(this.compositor)) return;
    const now = this.now();
    if (now - this.lastRequestAt < KEYFRAME_RETRY_MS) return;
    this.lastRequestAt = now;
    this.repairs++;
    this.options.requestKeyframe();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

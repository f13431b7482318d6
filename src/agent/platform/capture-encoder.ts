// One step of every screen stream the agent sends (Openctrol's /ws/desktop and a support session):
// grab an area, skip it if nothing changed since the last frame sent (compared before encoding: an
// unchanged desktop costs a capture and a memcmp, nothing else), otherwise shrink it to the
// maximum width and encode it as JPEG. A full frame still goes out every `keyframeIntervalMs` and
// whenever one is requested, so a client that joins late or lost a frame gets a picture. How the
// JPEG travels (OFRA messages, type-1 datagrams) and when the next step runs are the caller's.
import { downscale, scaledSize } from './downscale.js';
import type { JpegEncoder } from './jpeg-encoder.js';
import type { Rect, ScreenCapture } from './screen-capture.js';

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
}

export class CaptureEncoder {
  private readonly capture: ScreenCapture;
  private readonly encoder: JpegEncoder;
  private readonly maxWidth: number | undefined;
  private readonly keyframeIntervalMs: number;
  private readonly now: () => number;
  private area: Rect;
  private quality: number;
  private previous: Buffer | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private keyframeRequested = true;
  readonly stats: CaptureStats = { captured: 0, unchanged: 0, encoded: 0, jpegBytes: 0 };

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

  /** Captures once; returns the frame to send, or undefined when the picture did not change. Throws what capture throws. */
  next(): JpegFrame | undefined {
    const started = this.now();
    const raw = this.capture.capture(this.area);
    const captured = this.now();
    this.stats.captured++;
    const forced = this.keyframeRequested || captured - this.lastSentAt >= this.keyframeIntervalMs;
    // A frame that goes out anyway needs no comparison; a capture that reuses its buffer cannot be compared.
    if (!forced && this.previous !== undefined && raw.data !== this.previous && raw.data.equals(this.previous)) {
      this.stats.unchanged++;
      return undefined;
    }
    // The grab is kept by reference: robotjs hands out a new buffer per capture.
    this.previous = raw.data;
    const size = scaledSize(raw.width, raw.height, this.maxWidth);
    const jpeg = this.encoder.encode(downscale(raw, size.width, size.height), this.quality);
    const encoded = this.now();
    this.keyframeRequested = false;
    this.lastSentAt = encoded;
    this.stats.encoded++;
    this.stats.jpegBytes += jpeg.length;
    return { jpeg, width: size.width, height: size.height, forced, captureMs: captured - started, encodeMs: encoded - captured };
  }
}

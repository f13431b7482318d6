// Grabs a rectangle of the screen as 32-bit pixels, B,G,R,X per pixel (robotjs's layout on X11
// and Windows), with the row stride the encoder needs. A backend that knows where the screen
// changed (X DAMAGE, x11-capture.ts) says so through `damage`, so a still screen is not captured.
import type { Robot } from './robot.js';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface CapturedFrame {
  /** B,G,R,X bytes, `stride` bytes per row. */
  data: Buffer;
  width: number;
  height: number;
  stride: number;
}

/** Where the screen changed, as the display server reports it. */
export interface DamageSource {
  /** A point in the stream of changes: changedSince(mark) reports what came after it. */
  mark(): number;
  /** The changed areas since `mark` that touch `area`, clipped to it and relative to its corner; empty: still. */
  changedSince(mark: number, area: Rect): Rect[];
  /** Calls `listener` each time a change is reported; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export interface ScreenCapture {
  /** Which backend this is, for the agent's log ("robotjs", "x11-shm", "x11"). */
  readonly backend: string;
  /** Each call returns a new buffer (callers keep the previous one to compare). */
  capture(rect: Rect): Promise<CapturedFrame>;
  /** Present when the backend is told where the screen changed; absent: capture to find out. */
  readonly damage?: DamageSource;
}

export class RobotScreenCapture implements ScreenCapture {
  readonly backend = 'robotjs';

  constructor(private readonly robot: () => Robot) {}

  async capture(rect: Rect): Promise<CapturedFrame> {
    return this.captureNow(rect);
  }

  captureNow(rect: Rect): CapturedFrame {
    const robot = this.robot();
    const screen = robot.getScreenSize();
    const { x, y, width, height } = clampToScreen(rect, screen);
    const bitmap = robot.captureScreen(x, y, width, height);
    if (!bitmap || bitmap.bytesPerPixel !== 4) {
      throw new Error(`screen capture failed (${bitmap ? `${bitmap.bitsPerPixel} bits per pixel` : 'no image'})`);
    }
    return { data: bitmap.image, width: bitmap.width, height: bitmap.height, stride: bitmap.byteWidth };
  }
}

/** GetImage fails on a rectangle that leaves the root window: clamp to it (whole pixels, at least one). */
export function clampToScreen(rect: Rect, screen: { width: number; height: number }): Rect {
  const x = clamp(Math.round(rect.x), 0, screen.width - 1);
  const y = clamp(Math.round(rect.y), 0, screen.height - 1);
  const width = clamp(Math.round(rect.width), 1, screen.width - x);
  const height = clamp(Math.round(rect.height), 1, screen.height - y);
  return { x, y, width, height };
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

// Grabs a rectangle of the screen as 32-bit pixels, B,G,R,X per pixel (robotjs's layout on X11
// and Windows), with the row stride the encoder needs.
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

export interface ScreenCapture {
  capture(rect: Rect): CapturedFrame;
}

export class RobotScreenCapture implements ScreenCapture {
  constructor(private readonly robot: () => Robot) {}

  capture(rect: Rect): CapturedFrame {
    const robot = this.robot();
    const screen = robot.getScreenSize();
    // XGetImage fails on a rectangle that leaves the root window: clamp to it.
    const x = clamp(Math.round(rect.x), 0, screen.width - 1);
    const y = clamp(Math.round(rect.y), 0, screen.height - 1);
    const width = clamp(Math.round(rect.width), 1, screen.width - x);
    const height = clamp(Math.round(rect.height), 1, screen.height - y);
    const bitmap = robot.captureScreen(x, y, width, height);
    if (!bitmap || bitmap.bytesPerPixel !== 4) {
      throw new Error(`screen capture failed (${bitmap ? `${bitmap.bitsPerPixel} bits per pixel` : 'no image'})`);
    }
    return { data: bitmap.image, width: bitmap.width, height: bitmap.height, stride: bitmap.byteWidth };
  }
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

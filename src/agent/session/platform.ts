// What a session needs from the desktop: the monitors, a grab of one of them, a JPEG encoder and
// an input injector. Screen capture, encoding and injection are built once in src/agent/ (robotjs,
// libjpeg-turbo); these interfaces are the slice of them a session uses, so the pipeline can be
// driven by the real ones and read without them.

import type { CapturedFrame, Rect, ScreenCapture } from '../platform/screen-capture.js';

export type { CapturedFrame, Rect };

export interface SessionMonitor extends Rect {
  /** DISPLAY1, DISPLAY2, … (DISPLAY1 is the primary). */
  id: string;
  name: string;
  isPrimary: boolean;
}

export type SessionCapture = ScreenCapture;

export interface SessionEncoder {
  readonly name: string;
  /** quality 1–100 */
  encode(frame: CapturedFrame, quality: number): Buffer;
}

export type SessionMouseButton = 'left' | 'right' | 'middle';

export interface SessionInput {
  /** The monitor that mouse coordinates are relative to. */
  setArea(area: Rect): void;
  moveTo(x: number, y: number): void;
  button(button: SessionMouseButton, down: boolean): void;
  /** Windows wheel units: 120 is one notch, positive y is away from the user. */
  wheel(deltaX: number, deltaY: number): void;
  /** A Windows virtual-key code; false (and counted in unknownKeys) when there is no local key. */
  virtualKey(code: number, down: boolean): boolean;
  releaseAll(): void;
  readonly unknownKeys: number;
  readonly held: { keys: string[]; buttons: string[] };
}

export interface SessionPlatform {
  monitors(): Promise<SessionMonitor[]>;
  capture: SessionCapture;
  encoder: SessionEncoder;
  /** Created on first use: a view-only session never opens an input connection. */
  input(): SessionInput;
}

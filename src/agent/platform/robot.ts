// Loads @jitsi/robotjs once, pointed at the right X display and without its per-call sleeps.
// robotjs dereferences a NULL X display (a crash, not an exception) when none can be opened, so
// callers first check that a display answers (see monitors.ts) before they touch it.
import { createRequire } from 'node:module';

export interface RobotBitmap {
  width: number;
  height: number;
  byteWidth: number;
  bitsPerPixel: number;
  bytesPerPixel: number;
  image: Buffer;
}

/** The parts of robotjs's native module we use (its JS `screen.capture` leaks a global). */
export interface Robot {
  captureScreen(x: number, y: number, width: number, height: number): RobotBitmap;
  getScreenSize(): { width: number; height: number };
  moveMouse(x: number, y: number): void;
  getMousePos(): { x: number; y: number };
  mouseToggle(down: 'down' | 'up', button: 'left' | 'right' | 'middle'): void;
  scrollMouse(x: number, y: number): void;
  keyToggle(key: string, down: 'down' | 'up', modifier?: string | string[]): void;
  keyTap(key: string, modifier?: string | string[]): void;
  unicodeTap(codePoint: number): void;
  setMouseDelay(ms: number): void;
  setKeyboardDelay(ms: number): void;
  setXDisplayName?(name: string): void;
}

let loaded: Robot | undefined;

export function loadRobot(display: string | undefined = process.env.DISPLAY): Robot {
  if (loaded) return loaded;
  const robot = createRequire(import.meta.url)('@jitsi/robotjs') as Robot;
  if (process.platform === 'linux' && display) robot.setXDisplayName?.(display);
  robot.setMouseDelay(0);
  robot.setKeyboardDelay(0);
  loaded = robot;
  return robot;
}

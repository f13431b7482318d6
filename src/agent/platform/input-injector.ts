// Pointer and keyboard input on the local desktop, in the coordinate space of the selected monitor.
// Every key and button it presses is remembered, so `releaseAll()` (a session ending or stalling)
// never leaves a Ctrl or a mouse button stuck down.
import type { Robot } from './robot.js';
import { MODIFIER_KEYS, keystrokeForChar, robotKeyForName, robotKeyForVirtualKey } from './robot-keys.js';
import type { Rect } from './screen-capture.js';

export type MouseButton = 'left' | 'right' | 'middle';
export interface Modifiers {
  ctrl?: boolean;
  alt?: boolean;
  shift?: boolean;
  win?: boolean;
}

/** Windows reports the wheel in 1/120ths of a notch. */
export const WHEEL_DELTA = 120;

const MODIFIER_FLAGS: [keyof Modifiers, string][] = [
  ['ctrl', 'control'],
  ['alt', 'alt'],
  ['shift', 'shift'],
  ['win', 'command'],
];

export class InputInjector {
  private area: Rect = { x: 0, y: 0, width: 1, height: 1 };
  private readonly heldKeys = new Set<string>();
  private readonly heldButtons = new Set<MouseButton>();
  /** Modifiers pressed because a key message carried ctrl/alt/… flags, by the key that needed them. */
  private readonly flagModifiers = new Map<string, string[]>();
  private wheelRest = { x: 0, y: 0 };
  private unknown = 0;

  constructor(private readonly robot: () => Robot) {}

  /** The monitor input coordinates are relative to. */
  setArea(area: Rect): void {
    this.area = { ...area };
  }

  /** Key codes and names that had no local key, since start. */
  get unknownKeys(): number {
    return this.unknown;
  }

  /** Pixels of the selected monitor; clamped to it. */
  moveTo(x: number, y: number): void {
    const px = this.area.x + clamp(Math.round(x), 0, this.area.width - 1);
    const py = this.area.y + clamp(Math.round(y), 0, this.area.height - 1);
    this.robot().moveMouse(px, py);
  }

  /** 0–65535 across the selected monitor (the Windows SendInput convention). */
  moveNormalized(x: number, y: number): void {
    this.moveTo((clamp(x, 0, 65535) / 65535) * (this.area.width - 1), (clamp(y, 0, 65535) / 65535) * (this.area.height - 1));
  }

  moveBy(dx: number, dy: number): void {
    const now = this.robot().getMousePos();
    this.moveTo(now.x - this.area.x + dx, now.y - this.area.y + dy);
  }

  button(button: MouseButton, down: boolean): void {
    if (down) this.heldButtons.add(button);
    else this.heldButtons.delete(button);
    this.robot().mouseToggle(down ? 'down' : 'up', button);
  }

  click(button: MouseButton): void {
    this.button(button, true);
    this.button(button, false);
  }

  /** Wheel deltas in Windows units (120 = one notch; positive y = away from the user, positive x = right). */
  wheel(deltaX: number, deltaY: number): void {
    this.wheelRest.x += deltaX;
    this.wheelRest.y += deltaY;
    const notchesX = Math.trunc(this.wheelRest.x / WHEEL_DELTA);
    const notchesY = Math.trunc(this.wheelRest.y / WHEEL_DELTA);
    this.wheelRest.x -= notchesX * WHEEL_DELTA;
    this.wheelRest.y -= notchesY * WHEEL_DELTA;
    if (notchesX === 0 && notchesY === 0) return;
    // robotjs on X11 scrolls left for positive x (button 6); Windows' positive is right.
    this.robot().scrollMouse(process.platform === 'linux' ? -notchesX : notchesX, notchesY);
  }

  /** A Windows virtual-key code going down or up; unknown codes are ignored and counted. */
  virtualKey(code: number, down: boolean, modifiers: Modifiers = {}): boolean {
    const key = robotKeyForVirtualKey(code);
    if (!key) {
      this.unknown++;
      return false;
    }
    if (down) {
      const extra = MODIFIER_FLAGS.filter(([flag, name]) => modifiers[flag] && !this.heldKeys.has(name) && name !== key).map(
        ([, name]) => name,
      );
      for (const name of extra) this.toggle(name, true);
      if (extra.length > 0) this.flagModifiers.set(key, extra);
      this.toggle(key, true);
    } else {
      this.toggle(key, false);
      for (const name of this.flagModifiers.get(key) ?? []) this.toggle(name, false);
      this.flagModifiers.delete(key);
    }
    return true;
  }

  /** Presses Openctrol key names together, then releases them (modifiers first down, last up). */
  combo(names: string[]): boolean {
    const keys = names.map((name) => robotKeyForName(name));
    if (keys.some((key) => key === undefined) || keys.length === 0) {
      this.unknown++;
      return false;
    }
    const ordered = [...new Set(keys as string[])].sort((a, b) => Number(MODIFIER_KEYS.has(b)) - Number(MODIFIER_KEYS.has(a)));
    for (const key of ordered) this.toggle(key, true);
    for (const key of [...ordered].reverse()) this.toggle(key, false);
    return true;
  }

  /** Types text on a US layout; characters it cannot type are skipped and counted. */
  text(text: string): void {
    for (const char of text) {
      const stroke = keystrokeForChar(char);
      if (!stroke) {
        if (process.platform === 'linux') this.unknown++;
        else this.robot().unicodeTap(char.codePointAt(0)!);
        continue;
      }
      if (stroke.shift) this.toggle('shift', true);
      this.toggle(stroke.key, true);
      this.toggle(stroke.key, false);
      if (stroke.shift) this.toggle('shift', false);
    }
  }

  /** Lets go of every key and button this injector holds down. */
  releaseAll(): void {
    for (const key of [...this.heldKeys]) this.toggle(key, false);
    for (const button of [...this.heldButtons]) this.button(button, false);
    this.flagModifiers.clear();
    this.wheelRest = { x: 0, y: 0 };
  }

  get held(): { keys: string[]; buttons: MouseButton[] } {
    return { keys: [...this.heldKeys], buttons: [...this.heldButtons] };
  }

  private toggle(key: string, down: boolean): void {
    if (down) this.heldKeys.add(key);
    else this.heldKeys.delete(key);
    this.robot().keyToggle(key, down ? 'down' : 'up');
  }
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

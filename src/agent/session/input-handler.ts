// Type-2 mouse and type-3 keyboard packets from the viewer → the local desktop. Mouse coordinates
// are pixels of the monitor being shared; buttons 1–3 press and release, 4 and 5 scroll one notch
// on "down". In view-only mode, or while the customer has not (yet) allowed control, nothing is
// injected and the packets are only counted. Whatever is held down is released when the session
// pauses or ends, and when input stalls (a lost key-up must not leave Ctrl stuck).
import { MouseButton, type KeyboardEvent, type MouseEvent } from '../../protocol/index.js';
import { type InputInjector, type MouseButton as LocalButton, WHEEL_DELTA } from '../platform/input-injector.js';

/** Held keys or buttons with no input packet for this long are released. */
export const INPUT_STALL_MS = 5000;

export interface InputStats {
  mouse: number;
  keys: number;
  /** Packets dropped because the session is view-only or paused. */
  ignored: number;
  /** Key codes with no local key. */
  unknownKeys: number;
  /** Times held keys were let go because input stalled. */
  stallReleases: number;
}

const BUTTONS: Partial<Record<number, LocalButton>> = {
  [MouseButton.LEFT]: 'left',
  [MouseButton.RIGHT]: 'right',
  [MouseButton.MIDDLE]: 'middle',
};

export class InputHandler {
  private input: InputInjector | undefined;
  private enabled = false;
  private lastInputAt = 0;
  private readonly stallTimer: NodeJS.Timeout;
  private readonly counts = { mouse: 0, keys: 0, ignored: 0, stallReleases: 0 };

  constructor(
    private readonly openInput: (() => InputInjector) | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.stallTimer = setInterval(() => this.checkStall(), 1000);
    this.stallTimer.unref();
  }

  get stats(): InputStats {
    return { ...this.counts, unknownKeys: this.input?.unknownKeys ?? 0 };
  }

  /** Allows injection (after consent, never in view-only mode: then there is no input to open). */
  enable(area: { x: number; y: number; width: number; height: number }): void {
    if (!this.openInput) return;
    this.input ??= this.openInput();
    this.input.setArea(area);
    this.enabled = true;
  }

  /** Stops injecting and lets go of everything held. */
  disable(): void {
    this.enabled = false;
    this.input?.releaseAll();
  }

  setArea(area: { x: number; y: number; width: number; height: number }): void {
    this.input?.releaseAll();
    this.input?.setArea(area);
  }

  mouse(event: MouseEvent): void {
    if (!this.enabled || !this.input) return void this.counts.ignored++;
    this.counts.mouse++;
    this.lastInputAt = this.now();
    const input = this.input;
    input.moveTo(event.x, event.y);
    const button = BUTTONS[event.button];
    if (button) input.button(button, event.state === 1);
    else if (event.button === MouseButton.WHEEL_UP && event.state === 1) input.wheel(0, WHEEL_DELTA);
    else if (event.button === MouseButton.WHEEL_DOWN && event.state === 1) input.wheel(0, -WHEEL_DELTA);
  }

  key(event: KeyboardEvent): void {
    if (!this.enabled || !this.input) return void this.counts.ignored++;
    this.counts.keys++;
    this.lastInputAt = this.now();
    this.input.virtualKey(event.vk, event.state === 1);
  }

  close(): void {
    clearInterval(this.stallTimer);
    this.disable();
  }

  private checkStall(): void {
    const input = this.input;
    if (!input) return;
    const held = input.held;
    if (held.keys.length === 0 && held.buttons.length === 0) return;
    if (this.now() - this.lastInputAt < INPUT_STALL_MS) return;
    input.releaseAll();
    this.counts.stallReleases++;
  }
}

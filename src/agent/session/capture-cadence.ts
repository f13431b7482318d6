// When the stream's timer may capture: at the full rate while the picture changes or a viewer
// sends something, at IDLE_FPS once nothing happened for IDLE_AFTER_MS (a still desktop then costs
// 5 captures and compares a second, not 15 or 30), and at the full rate again from the next change
// or input on.

/** No change and no input for this long: capture at IDLE_FPS. */
export const IDLE_AFTER_MS = 1000;
export const IDLE_FPS = 5;
/** Timer ticks land a little early or late: an idle capture due within this much is taken now. */
const TICK_SLACK_MS = 5;

export class CaptureCadence {
  private lastActivityAt = Number.NEGATIVE_INFINITY;
  private lastCaptureAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Whether this tick captures; if so, it counts as the last capture. */
  shouldCapture(): boolean {
    const now = this.now();
    if (now - this.lastActivityAt >= IDLE_AFTER_MS && now - this.lastCaptureAt < 1000 / IDLE_FPS - TICK_SLACK_MS) return false;
    this.lastCaptureAt = now;
    return true;
  }

  /** The picture changed, or input or a request arrived. */
  activity(): void {
    this.lastActivityAt = this.now();
  }

  get idle(): boolean {
    return this.now() - this.lastActivityAt >= IDLE_AFTER_MS;
  }
}

// When the stream's timer may capture: at the full rate while the picture changes or a viewer
// sends something, at IDLE_FPS once nothing happened for IDLE_AFTER_MS (a still desktop then costs
// 5 captures and compares a second, not 15 or 30), and at the full rate again from the next change
// or input on. With a frame interval set, no two captures come closer than it: a capture taken
// early because the screen reported a change (see delayUntilAllowed) keeps the frame-rate ceiling.
// A tick that found nothing to capture (the display reported no change) does not count as a
// capture: the first change after it is captured at once, not a frame interval later.

/** No change and no input for this long: capture at IDLE_FPS. */
export const IDLE_AFTER_MS = 1000;
export const IDLE_FPS = 5;
/** Timer ticks land a little early or late: an idle capture due within this much is taken now. */
const TICK_SLACK_MS = 5;

export class CaptureCadence {
  private lastActivityAt = Number.NEGATIVE_INFINITY;
  private lastCaptureAt = Number.NEGATIVE_INFINITY;
  /** The capture before the last one, for notCaptured(). */
  private captureBeforeAt = Number.NEGATIVE_INFINITY;
  private frameIntervalMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The full rate's interval (1000 / fps); 0, the default: every tick may capture. */
  setFrameInterval(ms: number): void {
    this.frameIntervalMs = ms;
  }

  /** Whether this tick captures; if so, it counts as the last capture. */
  shouldCapture(): boolean {
    const now = this.now();
    const since = now - this.lastCaptureAt;
    if (since < this.frameIntervalMs - TICK_SLACK_MS) return false;
    if (now - this.lastActivityAt >= IDLE_AFTER_MS && since < 1000 / IDLE_FPS - TICK_SLACK_MS) return false;
    this.captureBeforeAt = this.lastCaptureAt;
    this.lastCaptureAt = now;
    return true;
  }

  /** The tick shouldCapture() allowed did not capture after all (nothing was reported changed). */
  notCaptured(): void {
    this.lastCaptureAt = this.captureBeforeAt;
  }

  /** Milliseconds until a capture at the full rate is allowed (0: now); for a change reported between ticks. */
  delayUntilAllowed(): number {
    return Math.max(0, this.lastCaptureAt + this.frameIntervalMs - TICK_SLACK_MS - this.now());
  }

  /** The picture changed, or input or a request arrived. */
  activity(): void {
    this.lastActivityAt = this.now();
  }

  get idle(): boolean {
    return this.now() - this.lastActivityAt >= IDLE_AFTER_MS;
  }
}

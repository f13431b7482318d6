// When the screen stream looks at the screen: a tick at the frame rate, and, where the capture
// backend reports changes (X DAMAGE), a tick brought forward after a change, at most once per
// frame interval (the capture cadence decides how soon). A change reported while an update is
// still going out is captured as soon as it is out, not at the next tick.
import type { CaptureCadence } from './capture-cadence.js';

export interface FrameClockHooks {
  cadence: CaptureCadence;
  /** `early`: brought forward by a reported change, not a tick of the frame timer. */
  tick(early: boolean): void;
  /** A frame is still going out: a change then waits until captureDone(). */
  busy(): boolean;
  /** Calls back on each change the display reports; returns how to stop. Undefined: no reports. */
  watchChanges(onChange: () => void): (() => void) | undefined;
}

export class FrameClock {
  private frameTimer: NodeJS.Timeout | undefined;
  /** A capture brought forward by a reported change. */
  private promptTimer: NodeJS.Timeout | undefined;
  private unwatchChanges: (() => void) | undefined;
  /** A change was reported while an update was going out: capture again once it is out. */
  private changedWhileBusy = false;

  constructor(private readonly hooks: FrameClockHooks) {}

  get running(): boolean {
    return this.frameTimer !== undefined;
  }

  /** Starts ticking at `fps` (again, if it was running at another rate). */
  start(fps: number): void {
    this.stop();
    this.hooks.cadence.setFrameInterval(1000 / fps);
    this.frameTimer = setInterval(() => this.hooks.tick(false), Math.max(1, Math.round(1000 / fps)));
    this.unwatchChanges = this.hooks.watchChanges(() => this.onScreenChanged());
  }

  stop(): void {
    if (this.frameTimer) clearInterval(this.frameTimer);
    this.frameTimer = undefined;
    clearTimeout(this.promptTimer);
    this.promptTimer = undefined;
    this.unwatchChanges?.();
    this.unwatchChanges = undefined;
    this.changedWhileBusy = false;
  }

  /** A capture begins: it takes in every change reported so far. */
  captureStarting(): void {
    this.changedWhileBusy = false;
  }

  /** The update went out: a change reported meanwhile is captured now. */
  captureDone(): void {
    if (this.changedWhileBusy && this.running) this.captureSoon();
  }

  /** The screen reported a change: capture as soon as the frame rate allows, not at the next tick. */
  private onScreenChanged(): void {
    this.hooks.cadence.activity();
    if (this.hooks.busy()) this.changedWhileBusy = true;
    else this.captureSoon();
  }

  private captureSoon(): void {
    if (this.promptTimer) return;
    this.promptTimer = setTimeout(() => {
      this.promptTimer = undefined;
      this.hooks.tick(true);
    }, this.hooks.cadence.delayUntilAllowed());
  }
}

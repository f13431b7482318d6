// Steers the stream's JPEG quality and frame rate from what viewers report receiving and from the
// agent's own send queue (docs/protocol.md, "Receive reports and stream settings"). AIMD: a report
// that shows loss, a growing round trip or a backed-up queue cuts both at once; only a run of clean
// reports raises them, a step at a time, back to the ceilings (`--quality`, `--fps`). One stream
// goes to every viewer, so the worst viewer steers: any viewer's trouble cuts, and the stream rises
// only while every reporting viewer is clean. A viewer may pin both values until it hands them
// back. Pure: no clock, no I/O; time passes as reports arrive.

export interface QualitySettings {
  quality: number;
  fps: number;
  /** False while a viewer has pinned the values. */
  auto: boolean;
}

export interface QualityLimits {
  /** The ceilings: `rac agent --quality` and `--fps`. */
  quality: number;
  fps: number;
}

/** One viewer's window, as its receive report says (docs/protocol.md). */
export interface ViewerWindow {
  frames: number;
  lost: number;
  /** Mean decode time of a frame, milliseconds. */
  decodeMs?: number;
  /** Smoothed round trip of keepalive echoes, milliseconds. */
  rttMs?: number;
}

/** The agent's side of the same window. */
export interface SenderWindow {
  /** Share of frame ticks (0..1) that found the previous frame still being sent. */
  busyShare: number;
}

export type Verdict = 'congested' | 'slow_viewer' | 'hold' | 'clean';

/** The floors the controller never goes under (or the ceilings, when those are lower). */
export const MIN_AUTO_QUALITY = 15;
export const MIN_AUTO_FPS = 2;
/** Loss up to this share of a window's frames is noise: held, neither cut nor raised. */
export const TOLERATED_LOSS = 0.02;
/** A round trip this far above the viewer's recent best means a queue is building. */
const RTT_GROWTH_FACTOR = 2;
const RTT_GROWTH_SLACK_MS = 40;
/** How many recent round trips the best one is taken from (about half a minute of reports). */
const RTT_HISTORY = 30;
/** A sender busy for more than this share of its ticks cannot keep up with the frame rate. */
const BUSY_LIMIT = 0.5;
/** A viewer spending this share of each frame interval decoding cannot keep up either. */
const DECODE_LIMIT = 0.9;
const CUT_FACTOR = 0.7;
/** Clean reports in a row (from every viewer) before the first step up. */
const CLEAN_REPORTS_BEFORE_RAISE = 3;
const QUALITY_STEP = 5;
const FPS_STEP = 2;

interface ViewerState {
  verdict: Verdict;
  rtts: number[];
}

export class QualityController {
  private readonly floor: { quality: number; fps: number };
  private current: { quality: number; fps: number };
  private pinned: { quality: number; fps: number } | undefined;
  private readonly viewers = new Map<number, ViewerState>();
  private cleanStreak = 0;

  constructor(private readonly ceiling: QualityLimits) {
    this.floor = { quality: Math.min(MIN_AUTO_QUALITY, ceiling.quality), fps: Math.min(MIN_AUTO_FPS, ceiling.fps) };
    this.current = { quality: ceiling.quality, fps: ceiling.fps };
  }

  get settings(): QualitySettings {
    return { ...(this.pinned ?? this.current), auto: this.pinned === undefined };
  }

  /** Takes one viewer's report; returns the verdict it led to. */
  report(viewerId: number, window: ViewerWindow, sender: SenderWindow): Verdict {
    const state = this.viewerState(viewerId);
    if (window.rttMs !== undefined) state.rtts = [...state.rtts, window.rttMs].slice(-RTT_HISTORY);
    const verdict = judge(window, sender, state.rtts, this.settings.fps);
    this.apply(viewerId, verdict);
    return verdict;
  }

  /** A viewer that has reported before went quiet: its reports are being lost, so the link is. */
  silent(viewerId: number): void {
    if (this.viewers.has(viewerId)) this.apply(viewerId, 'congested');
  }

  /** Whether this viewer ever reported (only those steer; an older viewer sends no reports). */
  reporting(viewerId: number): boolean {
    return this.viewers.has(viewerId);
  }

  forget(viewerId: number): void {
    this.viewers.delete(viewerId);
  }

  /** A viewer fixes quality and frame rate (never above the ceilings) until automatic() . */
  pin(quality: number, fps: number): void {
    this.pinned = { quality: clamp(quality, 1, this.ceiling.quality), fps: clamp(fps, 1, this.ceiling.fps) };
  }

  /** Back to steering, starting from the pinned values. */
  automatic(): void {
    if (!this.pinned) return;
    this.current = {
      quality: clamp(this.pinned.quality, this.floor.quality, this.ceiling.quality),
      fps: clamp(this.pinned.fps, this.floor.fps, this.ceiling.fps),
    };
    this.pinned = undefined;
    this.cleanStreak = 0;
  }

  private viewerState(viewerId: number): ViewerState {
    let state = this.viewers.get(viewerId);
    if (!state) {
      state = { verdict: 'clean', rtts: [] };
      this.viewers.set(viewerId, state);
    }
    return state;
  }

  private apply(viewerId: number, verdict: Verdict): void {
    this.viewerState(viewerId).verdict = verdict;
    const { quality, fps } = this.current;
    if (verdict === 'congested') {
      this.current = { quality: this.cut(quality, this.floor.quality), fps: this.cut(fps, this.floor.fps) };
    } else if (verdict === 'slow_viewer') {
      this.current = { quality, fps: this.cut(fps, this.floor.fps) };
    } else if (verdict === 'clean' && [...this.viewers.values()].every((v) => v.verdict === 'clean')) {
      if (++this.cleanStreak >= CLEAN_REPORTS_BEFORE_RAISE) {
        this.current = {
          quality: Math.min(this.ceiling.quality, quality + QUALITY_STEP),
          fps: Math.min(this.ceiling.fps, fps + FPS_STEP),
        };
      }
      return;
    }
    this.cleanStreak = 0;
  }

  private cut(value: number, floor: number): number {
    return Math.max(floor, Math.floor(value * CUT_FACTOR));
  }
}

/** What one window says about the link: the first trouble found decides. */
export function judge(window: ViewerWindow, sender: SenderWindow, rtts: readonly number[], fps: number): Verdict {
  const all = window.frames + window.lost;
  const loss = all > 0 ? window.lost / all : 0;
  if (loss > TOLERATED_LOSS) return 'congested';
  if (sender.busyShare > BUSY_LIMIT) return 'congested';
  if (window.rttMs !== undefined && rtts.length > 1) {
    const best = Math.min(...rtts);
    if (window.rttMs > best * RTT_GROWTH_FACTOR + RTT_GROWTH_SLACK_MS) return 'congested';
  }
  if (window.decodeMs !== undefined && window.decodeMs * fps > 1000 * DECODE_LIMIT) return 'slow_viewer';
  return window.lost > 0 ? 'hold' : 'clean';
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}

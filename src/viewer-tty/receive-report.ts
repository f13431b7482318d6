// What the viewer tells the agent about the stream, about once a second (docs/protocol.md, "Receive
// reports and stream settings"): frames reassembled and lost, bytes, the mean decode time, and the
// round trip smoothed over the agent's echoes of timestamped keepalives, and the newest update
// received whole. The agent's quality controller steers by it; the agent repairs a lost last update.
import type { ReceiveReport } from '../protocol/stream-feedback.js';
import { WholeUpdates } from './whole-updates.js';

export const REPORT_INTERVAL_MS = 1000;
/** How much of each new round-trip sample goes into the smoothed value (as TCP's SRTT, but quicker). */
const RTT_GAIN = 0.25;
/** Echoes older than this are late beyond use (or not ours): ignored. */
const MAX_RTT_MS = 60_000;

export class ReceiveReporter {
  private window = { start: 0, frames: 0, bytes: 0, decodeMs: 0, decodes: 0, droppedAtStart: 0 };
  private smoothedRttMs: number | undefined;
  /** Fed by the connection with every frame and rectangle reassembled. */
  readonly updates = new WholeUpdates();

  /** `droppedFrames`: the reassembler's running count of frames it gave up on. */
  constructor(
    private readonly droppedFrames: () => number,
    private readonly now: () => number = Date.now,
  ) {
    this.window.start = now();
    this.window.droppedAtStart = droppedFrames();
  }

  /** The smoothed round trip, once an echo came back. */
  get rttMs(): number | undefined {
    return this.smoothedRttMs;
  }

  bytes(size: number): void {
    this.window.bytes += size;
  }

  frame(): void {
    this.window.frames++;
  }

  decoded(ms: number): void {
    this.window.decodeMs += ms;
    this.window.decodes++;
  }

  /** The `t` for the next timestamped keepalive. */
  stamp(): number {
    return Math.round(this.now());
  }

  /** The agent echoed a keepalive's `t`: one round-trip sample. */
  echo(t: number): void {
    const sample = this.now() - t;
    if (sample < 0 || sample > MAX_RTT_MS) return;
    this.smoothedRttMs = this.smoothedRttMs === undefined ? sample : this.smoothedRttMs + RTT_GAIN * (sample - this.smoothedRttMs);
  }

  /** Closes the window: the report to send, and a new window from now. */
  take(): ReceiveReport {
    const now = this.now();
    const dropped = this.droppedFrames();
    const { start, frames, bytes, decodeMs, decodes, droppedAtStart } = this.window;
    const report: ReceiveReport = {
      type: 'receive_report',
      interval_ms: Math.min(60_000, Math.max(1, Math.round(now - start))),
      frames: Math.min(frames, 100_000),
      lost: Math.min(Math.max(0, dropped - droppedAtStart), 100_000),
      bytes: Math.min(bytes, 1_000_000_000),
    };
    if (decodes > 0) report.decode_ms = Math.min(60_000, Math.round(decodeMs / decodes));
    if (this.smoothedRttMs !== undefined) report.rtt_ms = Math.round(this.smoothedRttMs);
    if (this.updates.newest !== undefined) report.last_frame = this.updates.newest.toString();
    this.window = { start: now, frames: 0, bytes: 0, decodeMs: 0, decodes: 0, droppedAtStart: dropped };
    return report;
  }
}

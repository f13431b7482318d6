// The agent's end of the feedback loop (docs/protocol.md, "Receive reports and stream settings"):
// echoes each viewer's timestamped keepalive so it can measure the round trip, feeds receive
// reports and the send queue to the QualityController, obeys set_quality (a pin) and auto_quality,
// applies whatever the controller decides and tells every viewer the values in use
// (stream_settings). A viewer that reported before and then goes quiet counts as a lossy link.
import type { ControlMessage, ReceiveReport } from '../../protocol/index.js';
import { QualityController, type QualityLimits, type QualitySettings } from './quality-controller.js';

/** Counters the stream keeps of its frame ticks: how many there were and how many found it still sending. */
export interface SenderCounters {
  ticks: number;
  busyTicks: number;
}

export interface StreamQualityHooks {
  /** Use these values for the next frames. */
  apply(settings: QualitySettings): void;
  /** Seal one control message to one viewer. */
  send(viewerId: number, message: ControlMessage): void;
  sender(): SenderCounters;
}

/** Reports come about once a second; this long without one from a reporting viewer means loss. */
export const REPORT_SILENCE_MS = 3000;
const SILENCE_CHECK_MS = 1000;

interface ReportingViewer {
  lastReportAt: number;
  senderAtLastReport: SenderCounters;
}

export class StreamQuality {
  private readonly controller: QualityController;
  private readonly viewers = new Map<number, ReportingViewer>();
  private readonly known = new Set<number>();
  private applied: QualitySettings;
  private silenceTimer: NodeJS.Timeout | undefined;

  constructor(
    ceilings: QualityLimits,
    private readonly hooks: StreamQualityHooks,
    private readonly now: () => number = Date.now,
  ) {
    this.controller = new QualityController(ceilings);
    this.applied = this.controller.settings;
  }

  get settings(): QualitySettings {
    return this.applied;
  }

  addViewer(viewerId: number): void {
    this.known.add(viewerId);
  }

  removeViewer(viewerId: number): void {
    this.known.delete(viewerId);
    this.viewers.delete(viewerId);
    this.controller.forget(viewerId);
    this.settle();
  }

  /** The values in use, for one viewer (sent with the screen size when it joins). */
  settingsMessage(): ControlMessage {
    return { type: 'stream_settings', ...this.applied };
  }

  /** Handles the feedback messages; false for any other message. */
  onControl(viewerId: number, message: ControlMessage): boolean {
    switch (message.type) {
      case 'keepalive':
        if (message.t !== undefined) this.hooks.send(viewerId, { type: 'keepalive', t: message.t });
        return true;
      case 'receive_report':
        this.onReport(viewerId, message);
        return true;
      case 'set_quality':
        this.controller.pin(message.quality, message.fps);
        this.settle();
        return true;
      case 'auto_quality':
        this.controller.automatic();
        this.settle();
        return true;
      default:
        return false;
    }
  }

  /** While streaming, a reporting viewer that goes quiet is checked for once a second. */
  start(): void {
    this.stop();
    const now = this.now();
    for (const viewer of this.viewers.values()) viewer.lastReportAt = now;
    this.silenceTimer = setInterval(() => this.checkSilence(), SILENCE_CHECK_MS);
    this.silenceTimer.unref();
  }

  stop(): void {
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.silenceTimer = undefined;
  }

  private onReport(viewerId: number, report: ReceiveReport): void {
    if (!this.known.has(viewerId)) return;
    const sender = this.hooks.sender();
    const previous = this.viewers.get(viewerId)?.senderAtLastReport ?? sender;
    const ticks = sender.ticks - previous.ticks;
    const busyShare = ticks > 0 ? (sender.busyTicks - previous.busyTicks) / ticks : 0;
    this.viewers.set(viewerId, { lastReportAt: this.now(), senderAtLastReport: { ...sender } });
    const window = { frames: report.frames, lost: report.lost, decodeMs: report.decode_ms, rttMs: report.rtt_ms };
    this.controller.report(viewerId, window, { busyShare });
    this.settle();
  }

  /** Cuts for each reporting viewer not heard from for REPORT_SILENCE_MS (the timer calls it every second). */
  checkSilence(): void {
    const now = this.now();
    for (const [viewerId, viewer] of this.viewers) {
      if (now - viewer.lastReportAt >= REPORT_SILENCE_MS) this.controller.silent(viewerId);
    }
    this.settle();
  }

  /** Applies and announces the controller's values when they changed. */
  private settle(): void {
    const next = this.controller.settings;
    const last = this.applied;
    if (next.quality === last.quality && next.fps === last.fps && next.auto === last.auto) return;
    this.applied = next;
    this.hooks.apply(next);
    for (const viewerId of this.known) this.hooks.send(viewerId, this.settingsMessage());
  }
}

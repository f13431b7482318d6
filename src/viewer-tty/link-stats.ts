// What the viewer's status line says about the stream: frames and bytes per second and frame
// loss over the last window (rolled about once a second), and the latency (the age of frames by
// their ids when the clocks agree, else the WebSocket ping round trip), and the quality and frame
// rate the agent says it streams with.
import { unixMsFromTicks } from '../protocol/frame-ids.js';

export interface LinkStats {
  fps: number;
  kbps: number;
  /** Lost frames / all frames in the last window, 0..1. */
  frameLoss: number;
  /**
   * How old frames are when they arrive (their id is the capture time in .NET ticks) when the
   * clocks agree; otherwise the WebSocket ping round trip, when the broker answers pings.
   */
  latencyMs?: number;
  framesShown: number;
  /** The JPEG quality and frame rate the agent says it streams with, and whether they adapt. */
  settings?: StreamSettingsShown;
}

export interface StreamSettingsShown {
  quality: number;
  fps: number;
  /** False while a viewer pinned them. */
  auto: boolean;
}

export class LinkStatsWindow {
  private window = { start: Date.now(), frames: 0, bytes: 0, droppedAtStart: 0 };
  private current: LinkStats = { fps: 0, kbps: 0, frameLoss: 0, framesShown: 0 };
  private frameAgeMs?: number;
  /** The latest WebSocket ping round trip. */
  rttMs?: number;
  /** The agent's latest stream_settings. */
  settings?: StreamSettingsShown;

  /** `droppedFrames`: the reassembler's running count of frames it gave up on. */
  constructor(private readonly droppedFrames: () => number) {}

  bytes(size: number): void {
    this.window.bytes += size;
  }

  frameShown(frameId: bigint): void {
    this.window.frames++;
    this.current.framesShown++;
    const age = Date.now() - unixMsFromTicks(frameId);
    this.frameAgeMs = age >= 0 && age < 10_000 ? age : undefined;
  }

  roll(): void {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.window.start) / 1000);
    const droppedNow = this.droppedFrames();
    const lost = droppedNow - this.window.droppedAtStart;
    const all = this.window.frames + lost;
    this.current = {
      ...this.current,
      fps: this.window.frames / seconds,
      kbps: (this.window.bytes * 8) / 1000 / seconds,
      frameLoss: all ? lost / all : 0,
      latencyMs: this.frameAgeMs ?? this.rttMs,
    };
    this.window = { start: now, frames: 0, bytes: 0, droppedAtStart: droppedNow };
  }

  snapshot(): LinkStats {
    return { ...this.current, ...(this.settings ? { settings: { ...this.settings } } : {}) };
  }
}

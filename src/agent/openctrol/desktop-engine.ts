// The remote-desktop engine shared by everything that shows or controls this screen: which monitor
// is selected (capture source and input coordinate space), a capture loop that runs while anyone
// watches (each step is platform/capture-encoder.ts: unchanged screens are not encoded again), and
// the facts /api/v1/health reports.
import { CaptureEncoder } from '../platform/capture-encoder.js';
import { InputInjector } from '../platform/input-injector.js';
import type { JpegEncoder } from '../platform/jpeg-encoder.js';
import type { Monitor, MonitorSource } from '../platform/monitors.js';
import type { ScreenCapture } from '../platform/screen-capture.js';

export interface EncodedFrame {
  width: number;
  height: number;
  jpeg: Buffer;
  monitorId: string;
}

export type FrameListener = (frame: EncodedFrame) => void;

export type DesktopState = 'desktop' | 'login_screen' | 'locked' | 'unknown';

export interface DesktopEngineOptions {
  monitors: MonitorSource;
  capture: ScreenCapture;
  encoder: JpegEncoder;
  input: InputInjector;
  fps: number;
  quality: number;
  /** Best-effort lock detection; 'unknown' when the OS does not say. */
  desktopState?: () => Promise<DesktopState | undefined>;
  log?: (message: string) => void;
}

export class DesktopUnavailableError extends Error {}

/** An unchanged screen is still sent this often, so a client that missed a frame catches up. */
export const KEYFRAME_INTERVAL_MS = 2000;

export class DesktopEngine {
  private monitorList: Monitor[] = [];
  private listedAt = 0;
  private selectedId: string | undefined;
  private readonly listeners = new Set<FrameListener>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private lastFrameAt: Date | null = null;
  /** Why the last capture failed; null after a good one. */
  private lastError: string | null = null;
  private readonly frames: CaptureEncoder;
  /** The monitor `frames` captures (its id and rectangle as last listed). */
  private streamed: Monitor | undefined;
  private fps: number;

  constructor(private readonly options: DesktopEngineOptions) {
    this.fps = options.fps;
    this.frames = new CaptureEncoder({
      capture: options.capture,
      encoder: options.encoder,
      area: { x: 0, y: 0, width: 1, height: 1 }, // replaced by the selected monitor before the first capture
      quality: options.quality,
      keyframeIntervalMs: KEYFRAME_INTERVAL_MS,
    });
  }

  get quality(): number {
    return this.frames.currentQuality;
  }

  get input(): InputInjector {
    return this.options.input;
  }

  /**
   * Lists the monitors again (they change when screens are plugged in); throws when there is no
   * display. `maxAgeMs` accepts a list that recent, so the public health check spawns no process per call.
   */
  async monitors(maxAgeMs = 0): Promise<Monitor[]> {
    if (maxAgeMs > 0 && this.listedAt > 0 && Date.now() - this.listedAt < maxAgeMs) return this.monitorList;
    try {
      this.monitorList = await this.options.monitors.list();
      this.listedAt = Date.now();
    } catch (err) {
      this.listedAt = 0;
      throw new DesktopUnavailableError((err as Error).message);
    }
    if (!this.monitorList.some((m) => m.id === this.selectedId)) this.select(this.monitorList[0]!.id);
    return this.monitorList;
  }

  get currentMonitorId(): string | undefined {
    return this.selectedId;
  }

  get currentMonitor(): Monitor | undefined {
    return this.monitorList.find((m) => m.id === this.selectedId);
  }

  /** Returns false for an unknown id. */
  async selectMonitor(id: string): Promise<boolean> {
    const list = await this.monitors();
    if (!list.some((m) => m.id === id)) return false;
    this.select(id);
    return true;
  }

  private select(id: string): void {
    this.selectedId = id;
    const monitor = this.monitorList.find((m) => m.id === id);
    if (monitor) this.options.input.setArea(monitor);
  }

  /** Starts the capture loop with the first listener; returns the unsubscribe function. */
  subscribe(listener: FrameListener): () => void {
    this.listeners.add(listener);
    this.frames.requestKeyframe(); // the newcomer needs a frame now, changed or not
    if (!this.timer && !this.ticking) this.schedule(0);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    };
  }

  setRate(fps: number, quality: number): void {
    this.fps = Math.min(60, Math.max(1, fps));
    this.frames.setQuality(Math.min(100, Math.max(1, quality)));
  }

  get isRunning(): boolean {
    return this.listeners.size > 0;
  }

  async health(): Promise<{
    is_running: boolean;
    last_frame_at: string | null;
    state: string;
    desktop_state: DesktopState;
    degraded: boolean;
  }> {
    let reachable = true;
    try {
      await this.monitors(5000);
    } catch {
      reachable = false;
    }
    const detected = reachable ? await this.options.desktopState?.().catch(() => undefined) : undefined;
    const desktopState: DesktopState = detected ?? (reachable ? 'desktop' : 'unknown');
    return {
      is_running: this.isRunning,
      last_frame_at: this.lastFrameAt?.toISOString() ?? null,
      state: reachable ? desktopState : 'no_display',
      desktop_state: desktopState,
      degraded: !reachable || this.lastError !== null || this.options.encoder.name !== 'libjpeg-turbo',
    };
  }

  get lastCaptureError(): string | null {
    return this.lastError;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    const started = Date.now();
    this.timer = undefined;
    this.ticking = true;
    try {
      if (!this.currentMonitor) await this.monitors();
      const monitor = this.currentMonitor!;
      if (!sameMonitor(this.streamed, monitor)) this.frames.setArea(monitor);
      this.streamed = monitor;
      const frame = await this.frames.next();
      this.lastFrameAt = new Date();
      this.lastError = null;
      if (frame) {
        const encoded: EncodedFrame = { width: frame.width, height: frame.height, jpeg: frame.jpeg, monitorId: monitor.id };
        for (const listener of this.listeners) listener(encoded);
      }
    } catch (err) {
      if (this.lastError !== (err as Error).message) this.options.log?.(`capture failed: ${(err as Error).message}`);
      this.lastError = (err as Error).message;
    }
    this.scheduleNext(started);
  }

  private scheduleNext(started: number): void {
    this.ticking = false;
    if (this.listeners.size === 0) return;
    // Back off to one try per second while capture fails.
    const period = this.lastError ? 1000 : 1000 / this.fps;
    this.schedule(Math.max(0, period - (Date.now() - started)));
  }
}

const sameMonitor = (a: Monitor | undefined, b: Monitor) =>
  a !== undefined && a.id === b.id && a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;

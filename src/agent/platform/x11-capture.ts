// Screen capture on the X protocol directly (x11-connection.ts): the X server reports where the
// root window changed (DAMAGE, kept in a DamageLog), so a still screen is never captured, and a
// capture is one MIT-SHM GetImage into a shared segment and one read of it (core GetImage over the
// socket where shared memory cannot be used, e.g. a remote display). Pixels come as robotjs gives
// them: B,G,R,X, 4 bytes per pixel, packed rows.
import { DamageLog } from './damage-log.js';
import { type CapturedFrame, type DamageSource, type Rect, type ScreenCapture, clampToScreen } from './screen-capture.js';
import { type SharedSegment, X11Connection } from './x11-connection.js';

export interface X11CaptureStats {
  /** GetImage requests answered. */
  captures: number;
  /** Changed areas the X server reported. */
  damageReports: number;
}

export class X11ScreenCapture implements ScreenCapture {
  readonly stats: X11CaptureStats = { captures: 0, damageReports: 0 };
  readonly damage: DamageSource;
  private readonly log = new DamageLog();
  private readonly listeners = new Set<() => void>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly connection: X11Connection,
    private segment: SharedSegment | undefined,
  ) {
    this.damage = {
      mark: () => this.log.mark(),
      changedSince: (mark, area) => this.log.changedSince(mark, area),
      onChange: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    };
    connection.on('damage', (rect) => {
      this.stats.damageReports++;
      this.log.add(rect);
      this.notify();
    });
    // Whoever waits for a change captures once more and hears why the display is gone.
    connection.on('closed', () => {
      this.log.addEverything();
      this.notify();
    });
  }

  /** Connects to `display` and watches its root window; rejects where DAMAGE or the pixel format do not fit. */
  static async open(display: string, options: { sharedMemory?: boolean } = {}): Promise<X11ScreenCapture> {
    const connection = await X11Connection.open(display);
    try {
      const problem = connection.pixelFormatProblem();
      if (problem) throw new Error(problem);
      await connection.watchDamage();
      const { width, height } = connection.screen;
      const segment =
        options.sharedMemory === false ? undefined : await connection.sharedSegment(width * height * 4).catch(() => undefined);
      return new X11ScreenCapture(connection, segment);
    } catch (err) {
      connection.close();
      throw err;
    }
  }

  get backend(): string {
    return this.segment ? 'x11-shm' : 'x11';
  }

  /** One at a time: the shared segment holds one picture, read back after the server's answer. */
  capture(rect: Rect): Promise<CapturedFrame> {
    const next = this.queue.then(() => this.captureNow(rect));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async captureNow(rect: Rect): Promise<CapturedFrame> {
    const area = clampToScreen(rect, this.connection.screen);
    // The server forgets what it reported (the log keeps it), so a change from here on is reported
    // again; requests are handled in order, so such a change is at least as new as this picture.
    this.connection.subtractDamage();
    const segment = await this.segmentFor(area);
    const data = segment ? await segment.getImage(area) : await this.connection.getImage(area);
    this.stats.captures++;
    return { data, width: area.width, height: area.height, stride: area.width * 4 };
  }

  /** Resolves once every change the X server made so far is in the log (a round trip). */
  sync(): Promise<void> {
    return this.connection.sync();
  }

  /** The shared segment, grown when the root window grew past it (a monitor was added). */
  private async segmentFor(area: Rect): Promise<SharedSegment | undefined> {
    const bytes = area.width * area.height * 4;
    if (!this.segment || bytes <= this.segment.size) return this.segment;
    const { width, height } = this.connection.screen;
    const larger = await this.connection.sharedSegment(Math.max(bytes, width * height * 4));
    this.segment.release();
    this.segment = larger;
    return larger;
  }

  close(): void {
    this.segment?.release();
    this.connection.close();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

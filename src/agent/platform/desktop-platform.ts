// The local desktop, assembled once for whichever side of the agent uses it (Openctrol's API or a
// support session): RandR monitors on Linux (robotjs's whole screen on Windows and macOS), screen
// capture (chosen once, see chooseCapture), robotjs input, libjpeg-turbo (jpeg-js with a warning
// when it cannot load). Nothing here touches the display yet: robotjs crashes on a missing one, so
// callers list the monitors first.
import type { DesktopClipboard } from './clipboard.js';
import { InputInjector } from './input-injector.js';
import { type JpegEncoder, loadJpegEncoder } from './jpeg-encoder.js';
import { type Monitor, type MonitorSource, NO_DISPLAY_MESSAGE, RandrMonitorSource, WholeScreenMonitorSource } from './monitors.js';
import { type Robot, loadRobot } from './robot.js';
import { type CapturedFrame, type DamageSource, type Rect, RobotScreenCapture, type ScreenCapture } from './screen-capture.js';
import { X11ScreenCapture } from './x11-capture.js';

export interface DesktopPlatform {
  /** Lists the monitors again each call (primary first); rejects when the display does not answer. */
  monitors(): Promise<Monitor[]>;
  capture: ScreenCapture;
  /** Chooses the capture backend now (else on the first capture); resolves to its description. */
  selectCapture(): Promise<string>;
  encoder: JpegEncoder;
  /** Created on first use: a view-only session never opens an input connection. */
  input(): InputInjector;
  /** The clipboard as text, where a tool for it is installed (a support session shares it). */
  clipboard?: DesktopClipboard;
}

/** There is no desktop this agent can capture; the message says why and what to do. */
export class NoDesktopError extends Error {
  override name = 'NoDesktopError';
}

/** `RAC_CAPTURE=robotjs` skips the X11 backend (to compare, or where it misbehaves). */
export const CAPTURE_ENV = 'RAC_CAPTURE';
/** A display that takes longer than this to accept a connection is captured with robotjs. */
const X11_OPEN_TIMEOUT_MS = 5000;

const BACKEND_DESCRIPTIONS: Record<string, string> = {
  'x11-shm': 'X11 shared memory (MIT-SHM), only after X DAMAGE reports a change',
  x11: 'X11 GetImage (no shared memory on this display), only after X DAMAGE reports a change',
  robotjs: 'robotjs, the whole monitor at every frame tick',
};

/** Throws NoDesktopError where there is no display to use (no DISPLAY on Linux, an unsupported OS). */
export function loadDesktopPlatform(env: NodeJS.ProcessEnv, warn: (message: string) => void): DesktopPlatform {
  const robot = () => loadRobot(env.DISPLAY);
  const monitors = monitorSource(env, robot);
  const capture = new SelectedScreenCapture(() => chooseCapture(env, robot, warn));
  let injector: InputInjector | undefined;
  return {
    monitors: () => monitors.list(),
    capture,
    selectCapture: async () => BACKEND_DESCRIPTIONS[(await capture.select()).backend] ?? capture.backend,
    encoder: loadJpegEncoder(warn),
    input: () => (injector ??= new InputInjector(robot)),
  };
}

/** X11 with DAMAGE where the display offers it (Linux, an X server or XWayland), else robotjs. */
async function chooseCapture(env: NodeJS.ProcessEnv, robot: () => Robot, warn: (message: string) => void): Promise<ScreenCapture> {
  const asked = env[CAPTURE_ENV];
  if (asked && asked !== 'robotjs' && asked !== 'auto')
    warn(`${CAPTURE_ENV}=${asked} is not known (robotjs or auto): choosing automatically`);
  if (process.platform !== 'linux' || !env.DISPLAY || asked === 'robotjs') return new RobotScreenCapture(robot);
  const opening = X11ScreenCapture.open(env.DISPLAY);
  try {
    return await withTimeout(opening, X11_OPEN_TIMEOUT_MS, `no answer from ${env.DISPLAY}`);
  } catch (err) {
    // A connection that answers after the timeout is not used.
    opening.then(
      (late) => late.close(),
      () => undefined,
    );
    warn(`screen capture uses robotjs, the whole monitor at every frame tick (${(err as Error).message})`);
    return new RobotScreenCapture(robot);
  }
}

/** Chooses its backend once, on first use (or select()), and captures with it from then on. */
class SelectedScreenCapture implements ScreenCapture {
  private chosen: ScreenCapture | undefined;
  private choosing: Promise<ScreenCapture> | undefined;

  constructor(private readonly choose: () => Promise<ScreenCapture>) {}

  get backend(): string {
    return this.chosen?.backend ?? 'not chosen yet';
  }

  get damage(): DamageSource | undefined {
    return this.chosen?.damage;
  }

  select(): Promise<ScreenCapture> {
    return (this.choosing ??= this.choose().then((capture) => (this.chosen = capture)));
  }

  async capture(rect: Rect): Promise<CapturedFrame> {
    return (this.chosen ?? (await this.select())).capture(rect);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function monitorSource(env: NodeJS.ProcessEnv, robot: () => Robot): MonitorSource {
  if (process.platform === 'linux') {
    if (!env.DISPLAY) throw new NoDesktopError(NO_DISPLAY_MESSAGE);
    return new RandrMonitorSource(env);
  }
  if (process.platform === 'win32' || process.platform === 'darwin') return new WholeScreenMonitorSource(robot);
  throw new NoDesktopError(`screen capture is not supported on ${process.platform}`);
}

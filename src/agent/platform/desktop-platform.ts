// The local desktop, assembled once for whichever side of the agent uses it (Openctrol's API or a
// support session): RandR monitors on Linux (robotjs's whole screen on Windows and macOS), robotjs
// capture and input, libjpeg-turbo (jpeg-js with a warning when it cannot load). Nothing here
// touches the display yet: robotjs crashes on a missing one, so callers list the monitors first.
import type { DesktopClipboard } from './clipboard.js';
import { InputInjector } from './input-injector.js';
import { type JpegEncoder, loadJpegEncoder } from './jpeg-encoder.js';
import { type Monitor, type MonitorSource, NO_DISPLAY_MESSAGE, RandrMonitorSource, WholeScreenMonitorSource } from './monitors.js';
import { loadRobot } from './robot.js';
import { RobotScreenCapture, type ScreenCapture } from './screen-capture.js';

export interface DesktopPlatform {
  /** Lists the monitors again each call (primary first); rejects when the display does not answer. */
  monitors(): Promise<Monitor[]>;
  capture: ScreenCapture;
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

/** Throws NoDesktopError where there is no display to use (no DISPLAY on Linux, an unsupported OS). */
export function loadDesktopPlatform(env: NodeJS.ProcessEnv, warn: (message: string) => void): DesktopPlatform {
  const robot = () => loadRobot(env.DISPLAY);
  const monitors = monitorSource(env, robot);
  let injector: InputInjector | undefined;
  return {
    monitors: () => monitors.list(),
    capture: new RobotScreenCapture(robot),
    encoder: loadJpegEncoder(warn),
    input: () => (injector ??= new InputInjector(robot)),
  };
}

function monitorSource(env: NodeJS.ProcessEnv, robot: () => ReturnType<typeof loadRobot>): MonitorSource {
  if (process.platform === 'linux') {
    if (!env.DISPLAY) throw new NoDesktopError(NO_DISPLAY_MESSAGE);
    return new RandrMonitorSource(env);
  }
  if (process.platform === 'win32' || process.platform === 'darwin') return new WholeScreenMonitorSource(robot);
  throw new NoDesktopError(`screen capture is not supported on ${process.platform}`);
}

// The real desktop for a session: RandR monitors (or robotjs's whole screen off Linux), robotjs
// capture and input, libjpeg-turbo (jpeg-js with a warning when it cannot load). All of it is the
// shared platform layer of src/agent/; this only puts it together, once per agent.
import { InputInjector } from '../platform/input-injector.js';
import { loadJpegEncoder } from '../platform/jpeg-encoder.js';
import { RandrMonitorSource, WholeScreenMonitorSource } from '../platform/monitors.js';
import { loadRobot } from '../platform/robot.js';
import { RobotScreenCapture } from '../platform/screen-capture.js';
import type { SessionPlatform } from './platform.js';

export async function loadSessionPlatform(env: NodeJS.ProcessEnv, warn: (message: string) => void): Promise<SessionPlatform> {
  if (process.platform === 'linux' && !env.DISPLAY) {
    throw new Error('DISPLAY is not set: there is no X desktop to share (run this inside your desktop session)');
  }
  const robot = () => loadRobot(env.DISPLAY);
  // On Linux xrandr answering first also proves the display exists: robotjs crashes on a missing one.
  const monitorSource = process.platform === 'linux' ? new RandrMonitorSource(env) : new WholeScreenMonitorSource(robot);
  await monitorSource.list();
  let injector: InputInjector | undefined;
  return {
    monitors: () => monitorSource.list(),
    capture: new RobotScreenCapture(robot),
    encoder: loadJpegEncoder(warn),
    input: () => (injector ??= new InputInjector(robot)),
  };
}

// Assembles the Openctrol agent from the platform layer: display (capture, input, monitors) when one
// answers, the audio backend, power and Wake-on-LAN, then serves the API.
import { loadAudioBackend } from './audio/index.js';
import { DesktopEngine } from './desktop-engine.js';
import { linuxDesktopState } from './desktop-state.js';
import { InputInjector } from '../platform/input-injector.js';
import { loadJpegEncoder } from '../platform/jpeg-encoder.js';
import { type MonitorSource, RandrMonitorSource, WholeScreenMonitorSource } from '../platform/monitors.js';
import { type PowerExecutor, PowerManager } from './power.js';
import { loadRobot } from '../platform/robot.js';
import { RobotScreenCapture } from '../platform/screen-capture.js';
import type { WolTarget } from './wake-on-lan.js';
import { ApiKeyAuth, authThrottle } from './auth.js';
import type { OpenctrolContext } from './context.js';
import { DesktopSessions } from './desktop-sessions.js';
import { type RunningOpenctrolServer, startOpenctrolServer } from './server.js';

export interface OpenctrolAgentOptions {
  host: string;
  port: number;
  agentId: string;
  apiKey: string;
  version: string;
  tls?: { cert: Buffer; key: Buffer };
  wol: WolTarget | null;
  powerExecutor: PowerExecutor;
  fps: number;
  quality: number;
  authFailLimit: number;
  heartbeatMs?: number;
  env: NodeJS.ProcessEnv;
  log: (message: string) => void;
}

export interface RunningOpenctrolAgent extends RunningOpenctrolServer {
  context: OpenctrolContext;
  encoder: string | null;
}

export async function startOpenctrolAgent(options: OpenctrolAgentOptions): Promise<RunningOpenctrolAgent> {
  const desktop = buildDesktopEngine(options);
  const audio = await loadAudioBackend(options.env);
  const context: OpenctrolContext = {
    agentId: options.agentId,
    version: options.version,
    startedAt: Date.now(),
    auth: new ApiKeyAuth(options.apiKey, authThrottle(options.authFailLimit)),
    engine: desktop.engine,
    engineUnavailableReason: desktop.reason,
    audio,
    audioUnavailableReason: audio
      ? ''
      : process.platform === 'win32'
        ? 'node-audio-volume-mixer is not installed'
        : `no audio backend on ${process.platform}`,
    power: new PowerManager(options.powerExecutor),
    wol: options.wol,
    sessions: new DesktopSessions(),
    log: options.log,
  };
  const server = await startOpenctrolServer(context, {
    host: options.host,
    port: options.port,
    tls: options.tls,
    heartbeatMs: options.heartbeatMs,
  });
  return { ...server, context, encoder: desktop.engine ? desktop.encoder : null };
}

function buildDesktopEngine(options: OpenctrolAgentOptions): { engine: DesktopEngine | null; reason: string; encoder: string } {
  let monitors: MonitorSource;
  if (process.platform === 'linux') {
    if (!options.env.DISPLAY) return { engine: null, reason: 'no X display (DISPLAY is not set)', encoder: '' };
    monitors = new RandrMonitorSource(options.env);
  } else if (process.platform === 'win32' || process.platform === 'darwin') {
    monitors = new WholeScreenMonitorSource(() => loadRobot());
  } else {
    return { engine: null, reason: `screen capture is not supported on ${process.platform}`, encoder: '' };
  }
  const robot = () => loadRobot(options.env.DISPLAY);
  const encoder = loadJpegEncoder((message) => options.log(`warning: ${message}`));
  const engine = new DesktopEngine({
    monitors,
    capture: new RobotScreenCapture(robot),
    encoder,
    input: new InputInjector(robot),
    fps: options.fps,
    quality: options.quality,
    desktopState: process.platform === 'linux' ? linuxDesktopState(options.env) : undefined,
    log: options.log,
  });
  return { engine, reason: '', encoder: encoder.name };
}

// Assembles the Openctrol agent from the platform layer: display (capture, input, monitors) when one
// answers, the audio backend, power and Wake-on-LAN, then serves the API.
import { loadAudioBackend } from './audio/index.js';
import { DesktopEngine } from './desktop-engine.js';
import { linuxDesktopState } from './desktop-state.js';
import { type DesktopPlatform, NoDesktopError, loadDesktopPlatform } from '../platform/desktop-platform.js';
import { type PowerExecutor, PowerManager } from './power.js';
import type { WolTarget } from './wake-on-lan.js';
import { ApiKeyAuth, authThrottle } from './auth.js';
import type { OpenctrolContext } from './context.js';
import { DesktopLeases } from './desktop-leases.js';
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
    leases: new DesktopLeases(),
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
  let platform: DesktopPlatform;
  try {
    platform = loadDesktopPlatform(options.env, (message) => options.log(`warning: ${message}`));
  } catch (err) {
    if (err instanceof NoDesktopError) return { engine: null, reason: err.message, encoder: '' };
    throw err;
  }
  const engine = new DesktopEngine({
    monitors: { list: () => platform.monitors() },
    capture: platform.capture,
    encoder: platform.encoder,
    input: platform.input(),
    fps: options.fps,
    quality: options.quality,
    desktopState: process.platform === 'linux' ? linuxDesktopState(options.env) : undefined,
    log: options.log,
  });
  return { engine, reason: '', encoder: platform.encoder.name };
}

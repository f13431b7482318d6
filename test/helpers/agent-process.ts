// Starts a real `rac agent` (Openctrol API only) for a test: loopback, a free port, its own config
// dir, pointed at the test's X display and PulseAudio daemon.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRac } from './rac-process.js';

export const TEST_API_KEY = 'test-key-0123456789abcdef0123456789';

/** GET /api/v1/health, as the agent answers it (src/agent/openctrol/routes.ts). */
export interface AgentHealth {
  agent_id: string;
  version: string;
  uptime_seconds: number;
  remote_desktop: { is_running: boolean; last_frame_at: string | null; state: string; desktop_state: string; degraded: boolean };
  active_sessions: number;
}

/** POST /api/v1/sessions/desktop. */
export interface DesktopSessionCreated {
  session_id: string;
  websocket_url: string;
  expires_at: string;
}

/** GET /api/v1/audio/status. */
export interface AudioStatusBody {
  master: { volume: number; muted: boolean };
  devices: { id: string; name: string; is_default: boolean; volume: number; muted: boolean }[];
}

export interface AgentProcess {
  url: string;
  port: number;
  key: string;
  configDir: string;
  process: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

export async function startAgentProcess(
  options: { env?: NodeJS.ProcessEnv; args?: string[]; key?: string | null; configDir?: string } = {},
): Promise<AgentProcess> {
  const configDir = options.configDir ?? mkdtempSync(join(tmpdir(), 'rac-agent-config-'));
  const key = options.key === undefined ? TEST_API_KEY : options.key;
  const args = ['agent', '--openctrol-host', '127.0.0.1', '--openctrol-port', '0', '--config-dir', configDir, '--power-dry-run'];
  if (key !== null) args.push('--api-key', key);
  const rac = await spawnRac([...args, ...(options.args ?? [])], { ...process.env, ...options.env }, (stderr) => {
    const match = /listening on https?:\/\/[^:]+:(\d+)/.exec(stderr);
    // The banner ends with the power line: wait for all of it.
    return match && /\n {2}power: .*\n/.test(stderr) ? Number(match[1]) : undefined;
  });
  return { ...rac, url: `http://127.0.0.1:${rac.port}`, key: key ?? '', configDir };
}

// The monitors the agent can capture, as DISPLAY1… ids: RandR on Linux (`xrandr --listmonitors`),
// else the whole screen robotjs sees as one monitor. Primary first, then in RandR's order, so the
// ids stay stable while the layout does.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Robot } from './robot.js';

const execFileAsync = promisify(execFile);

export interface Monitor {
  /** DISPLAY1, DISPLAY2, … */
  id: string;
  /** The system's name for it (RandR output name such as DP-1). */
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
  isPrimary: boolean;
}

/** Why there is nothing to capture on Linux, and what to do. */
export const NO_DISPLAY_MESSAGE = 'DISPLAY is not set: there is no X display to share (run this inside your desktop session)';

export interface MonitorSource {
  list(): Promise<Monitor[]>;
}

// " 0: +*DP-1 1920/509x1080/286+0+0  DP-1"
const LINE = /^\s*\d+:\s+\+?(\*?)(\S+)\s+(\d+)\/\d+x(\d+)\/\d+([+-]\d+)([+-]\d+)/;

/** Parses `xrandr --listmonitors`; lines it does not understand are skipped. */
export function parseListMonitors(text: string): Monitor[] {
  const found: Omit<Monitor, 'id'>[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    found.push({
      name: m[2]!,
      isPrimary: m[1] === '*',
      width: Number(m[3]),
      height: Number(m[4]),
      x: Number(m[5]),
      y: Number(m[6]),
    });
  }
  return numberMonitors(found);
}

/** Primary first, then the given order; with no primary flagged, the first one counts as primary. */
export function numberMonitors(found: Omit<Monitor, 'id'>[]): Monitor[] {
  if (found.length === 0) return [];
  const primary = Math.max(
    0,
    found.findIndex((m) => m.isPrimary),
  );
  const ordered = [found[primary]!, ...found.filter((_, i) => i !== primary)];
  return ordered.map((m, i) => ({ id: `DISPLAY${i + 1}`, ...m, isPrimary: i === 0 }));
}

export class RandrMonitorSource implements MonitorSource {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async list(): Promise<Monitor[]> {
    if (!this.env.DISPLAY) throw new Error(NO_DISPLAY_MESSAGE);
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync('xrandr', ['--listmonitors'], { env: this.env, timeout: 5000 }));
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new Error('xrandr is not installed (apt install x11-xserver-utils)');
      throw new Error(`cannot reach X display ${this.env.DISPLAY}: ${(e.stderr || e.message).trim().split('\n')[0]}`);
    }
    const monitors = parseListMonitors(stdout);
    if (monitors.length === 0) throw new Error(`xrandr --listmonitors reported no monitors on ${this.env.DISPLAY}`);
    return monitors;
  }
}

/** Windows and macOS for now: robotjs's whole screen as one monitor (never claimed tested). */
export class WholeScreenMonitorSource implements MonitorSource {
  constructor(private readonly robot: () => Robot) {}

  async list(): Promise<Monitor[]> {
    const { width, height } = this.robot().getScreenSize();
    return [
      { id: 'DISPLAY1', name: process.platform === 'win32' ? '\\\\.\\DISPLAY1' : 'screen', x: 0, y: 0, width, height, isPrimary: true },
    ];
  }
}

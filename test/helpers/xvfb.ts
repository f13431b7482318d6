// A real X server for a test: Xvfb on a free display number with two RandR monitors, like a
// laptop with an external screen (docs/testing.md): DP-1 1920×1080 at 0,0 (primary) and HDMI-1
// 1280×1024 at 1920,0 on a 3200×1080 root window.
import { PATIENCE_MS } from './patience.js';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Xvfb {
  display: string;
  env: NodeJS.ProcessEnv;
  /** Runs an X client against this display and returns its stdout. */
  run(command: string, args: string[]): Promise<string>;
  /** Paints the root window: each rectangle in its colour (#rrggbb), the rest black. */
  paint(areas: { x: number; y: number; width: number; height: number; color: string }[]): Promise<void>;
  mouse(): Promise<{ x: number; y: number }>;
  stop(): Promise<void>;
}

export const ROOT = { width: 3200, height: 1080 };
export const MONITORS = [
  { name: 'DP-1', x: 0, y: 0, width: 1920, height: 1080 },
  { name: 'HDMI-1', x: 1920, y: 0, width: 1280, height: 1024 },
];

/**
 * An Xvfb on a free display number with these arguments after the common ones; a candidate that
 * never becomes ready is killed before the next number is tried.
 */
export async function spawnXvfb(args: string[]): Promise<{ display: string; child: ChildProcess }> {
  let stderr = '';
  for (let attempt = 0; attempt < 20; attempt++) {
    const n = 100 + Math.floor(Math.random() * 800);
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    const candidate = spawn('Xvfb', [`:${n}`, '-noreset', '-nolisten', 'tcp', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    stderr = '';
    candidate.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const ready = await waitFor(() => existsSync(`/tmp/.X11-unix/X${n}`) || candidate.exitCode !== null, 10_000);
    if (ready && candidate.exitCode === null) return { display: `:${n}`, child: candidate };
    if (candidate.exitCode === null) candidate.kill('SIGKILL');
  }
  throw new Error(`Xvfb did not start: ${stderr || 'no free X display number'}`);
}

/**
 * `inProcessClient`: this test process itself talks X (robotjs keeps its connection open, and Xlib
 * exits the process when the server goes away), so the server is stopped only as the process exits.
 */
export async function startXvfb(options: { inProcessClient?: boolean } = {}): Promise<Xvfb> {
  const { display, child: proc } = await spawnXvfb(['-screen', '0', `${ROOT.width}x${ROOT.height}x24`]);
  if (options.inProcessClient) {
    // A watchdog stops the server once this process is gone (even when killed by a signal).
    spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.2; done; kill ${proc.pid}`], {
      stdio: 'ignore',
      detached: true,
    }).unref();
    proc.unref();
    (proc.stderr as unknown as { unref?: () => void })?.unref?.();
  }
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const env = { ...process.env, DISPLAY: display };
  const run = async (command: string, args: string[]) => (await execFileAsync(command, args, { env, timeout: 15_000 })).stdout;

  // Wait until the server answers, then replace its automatic monitor with two.
  await waitForAsync(
    async () =>
      run('xrandr', ['--listmonitors']).then(
        () => true,
        () => false,
      ),
    10_000,
  );
  const [primary, second] = MONITORS;
  await run('xrandr', ['--setmonitor', `*${primary!.name}`, `${primary!.width}/509x${primary!.height}/286+0+0`, 'screen']);
  await run('xrandr', ['--setmonitor', second!.name, `${second!.width}/340x${second!.height}/270+${second!.x}+${second!.y}`, 'none']);

  const dir = mkdtempSync(join(tmpdir(), 'rac-xvfb-'));
  return {
    display,
    env,
    run,
    async paint(areas) {
      const file = join(dir, 'root.png');
      const draws = areas.flatMap((a) => ['-fill', a.color, '-draw', `rectangle ${a.x},${a.y} ${a.x + a.width - 1},${a.y + a.height - 1}`]);
      await execFileAsync('/usr/bin/convert', ['-size', `${ROOT.width}x${ROOT.height}`, 'xc:black', ...draws, file]);
      // `display -window root` sets the root background and exits (with status 1 on Xvfb, harmlessly).
      await run('display', ['-window', 'root', file]).catch(() => undefined);
    },
    async mouse() {
      const out = await run('xdotool', ['getmouselocation', '--shell']);
      return { x: Number(/X=(\d+)/.exec(out)![1]), y: Number(/Y=(\d+)/.exec(out)![1]) };
    },
    async stop() {
      if (options.inProcessClient) return;
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls for at most `ms`, no floor: for probe-and-retry loops, where a miss is expected. */
async function pollBriefly(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + Math.max(timeoutMs, PATIENCE_MS);
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

export async function waitForAsync(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + Math.max(timeoutMs, PATIENCE_MS);
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

export interface CatTerminal {
  file: string;
  /** What `cat` wrote to the file so far. */
  read(): string;
  stop(): Promise<void>;
}

/** An xterm running `cat > FILE`, focused, so typed keys land in FILE. */
export async function startCatTerminal(xvfb: Xvfb, geometry = '80x10+0+0'): Promise<CatTerminal> {
  const dir = mkdtempSync(join(tmpdir(), 'rac-xterm-'));
  const file = join(dir, 'typed.txt');
  const title = `rac-cat-${Math.random().toString(36).slice(2)}`;
  const child = spawn('xterm', ['-T', title, '-geometry', geometry, '-e', 'sh', '-c', `stty -icanon; exec cat > '${file}'`], {
    env: xvfb.env,
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const window = (await xvfb.run('xdotool', ['search', '--sync', '--onlyvisible', '--name', title])).trim().split('\n')[0]!;
  await xvfb.run('xdotool', ['windowfocus', '--sync', window]);
  await waitFor(() => existsSync(file), 10_000);
  return {
    file,
    read: () => (existsSync(file) ? readFileSync(file, 'utf8') : ''),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface ButtonEvent {
  kind: 'press' | 'release';
  button: number;
  x: number;
  y: number;
}

/** Records button presses and releases on the root window (`xev -root`): where clicks land. */
export async function watchRootButtons(xvfb: Xvfb): Promise<{ events: ButtonEvent[]; stop(): Promise<void> }> {
  const child = spawn('xev', ['-root', '-event', 'button'], { env: xvfb.env, stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const events: ButtonEvent[] = [];
  let text = '';
  // An event is complete at its "same_screen" line (xev separates events by a blank line *before* each).
  const EVENT = /Button(Press|Release) event[^]*?root:\((-?\d+),(-?\d+)\)[^]*?button (\d+), same_screen \w+\n/g;
  child.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    let m: RegExpExecArray | null;
    let consumed = 0;
    EVENT.lastIndex = 0;
    while ((m = EVENT.exec(text))) {
      events.push({ kind: m[1] === 'Press' ? 'press' : 'release', x: Number(m[2]), y: Number(m[3]), button: Number(m[4]) });
      consumed = EVENT.lastIndex;
    }
    text = text.slice(consumed);
  });
  // Ready once a probe click in the bottom-right corner shows up; then forget the probe.
  const ready = await waitForAsync(async () => {
    await xvfb.run('xdotool', ['mousemove', String(ROOT.width - 1), String(ROOT.height - 1), 'click', '3']);
    return pollBriefly(() => events.length > 0, 300);
  }, 10_000);
  if (!ready) throw new Error('xev did not report the probe click');
  await waitFor(() => events.filter((e) => e.kind === 'release').length > 0, 1000);
  events.length = 0;
  return {
    events,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

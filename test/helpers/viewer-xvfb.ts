// A private X server (Xvfb) for tests that need a real terminal window, and screenshots of it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Xvfb {
  display: string;
  /** The root window as RGB pixels. */
  screenshot(): { width: number; height: number; pixel(x: number, y: number): number[]; png(file: string): void };
  stop(): Promise<void>;
}

export async function startXvfb(options: { width?: number; height?: number; args?: string[] } = {}): Promise<Xvfb> {
  let number = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; attempt < 20 && !child; attempt++) {
    number = 100 + Math.floor(Math.random() * 800);
    if (existsSync(`/tmp/.X11-unix/X${number}`) || existsSync(`/tmp/.X${number}-lock`)) continue;
    child = spawn(
      'Xvfb',
      [
        `:${number}`,
        '-noreset',
        '-nolisten',
        'tcp',
        '-screen',
        '0',
        `${options.width ?? 1024}x${options.height ?? 768}x24`,
        ...(options.args ?? []),
      ],
      {
        stdio: 'ignore',
      },
    );
  }
  if (!child) throw new Error('no free X display number');
  const display = `:${number}`;
  const until = Date.now() + 10_000;
  while (!existsSync(`/tmp/.X11-unix/X${number}`)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`Xvfb ${display} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const exited = new Promise<void>((r) => child!.once('exit', () => r()));
  return {
    display,
    screenshot() {
      const ppm = execFileSync('import', ['-display', display, '-window', 'root', '-depth', '8', 'ppm:-'], { maxBuffer: 64 * 1024 * 1024 });
      // P6\n<w> <h>\n<max>\n<rgb...>
      const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(ppm.subarray(0, 50).toString('latin1'))!;
      const width = Number(header[1]);
      const height = Number(header[2]);
      const data = ppm.subarray(header[0].length);
      return {
        width,
        height,
        pixel: (x, y) => [...data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)],
        png: (file) => execFileSync('convert', ['-size', `${width}x${height}`, '-depth', '8', 'rgb:-', file], { input: data }),
      };
    },
    async stop() {
      if (child!.exitCode === null) child!.kill('SIGTERM');
      await exited;
    },
  };
}

// A progress line on stderr for transfers that last: nothing for the first second, then one line
// redrawn in place ("report.pdf  45%  12.3 MB/s  10.0 MB of 22.1 MB") at most five times a second.
// Only on a terminal: a log file gets no carriage-return noise.

export interface ProgressOptions {
  label: string;
  total: number;
  /** Bytes already there (a resumed copy): counted as done, not in the rate. */
  start?: number;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  now?: () => number;
}

export interface Progress {
  update(doneBytes: number): void;
  finish(): void;
}

const QUIET_MS = 1000;
const REDRAW_MS = 200;

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function progressLine(label: string, done: number, total: number, bytesPerSecond: number): string {
  const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
  return `${label}  ${percent}%  ${formatBytes(bytesPerSecond)}/s  ${formatBytes(done)} of ${formatBytes(total)}`;
}

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const started = now();
  const start = options.start ?? 0;
  let done = start;
  let lastDraw = 0;
  let shown = false;
  const draw = () => {
    const seconds = Math.max((now() - started) / 1000, 0.001);
    options.out.write(`\r\x1b[K${progressLine(options.label, done, options.total, (done - start) / seconds)}`);
    shown = true;
    lastDraw = now();
  };
  return {
    update(doneBytes) {
      done = doneBytes;
      if (!options.out.isTTY || now() - started < QUIET_MS || now() - lastDraw < REDRAW_MS) return;
      draw();
    },
    finish() {
      if (!shown) return;
      draw();
      options.out.write('\n');
    },
  };
}

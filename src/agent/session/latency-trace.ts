// Where an update's time went, for bench/latency.bench.js: with RAC_LATENCY_TRACE set to a file
// path, the agent appends one JSON line per update sent — its frame id and the moments (epoch
// milliseconds, sub-millisecond, comparable across processes on one machine) of the first input
// and the first reported screen change since the last capture, the capture's start and end, the
// compare, the JPEG encode, and the end of sealing and sending. Unset (the default), nothing is
// stamped or written. The lines hold no pixels, keys or secrets.
import { appendFileSync } from 'node:fs';
import type { StepTiming } from '../platform/capture-encoder.js';

export const LATENCY_TRACE_ENV = 'RAC_LATENCY_TRACE';

export interface LatencyTraceLine {
  frameId: string;
  kind: 'full' | 'rects';
  input?: number;
  changed?: number;
  captureStart: number;
  captured: number;
  compared: number;
  encoded: number;
  sent: number;
}

/** performance.now() as epoch milliseconds (what another process on this machine can compare with). */
export const epochOf = (performanceMs: number): number => performance.timeOrigin + performanceMs;

export class LatencyTrace {
  private inputAt: number | undefined;
  private changedAt: number | undefined;
  /** What the capture now starting owes its stamps to. */
  private taken: { input?: number; changed?: number } = {};

  private constructor(private readonly path: string) {}

  /** The trace when the environment asks for one, else undefined (callers then stamp nothing). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): LatencyTrace | undefined {
    const path = env[LATENCY_TRACE_ENV];
    return path ? new LatencyTrace(path) : undefined;
  }

  input(): void {
    this.inputAt ??= performance.now();
  }

  screenChanged(): void {
    this.changedAt ??= performance.now();
  }

  /** A capture starts: what happened so far is what it shows. */
  captureStarting(): void {
    this.taken = { input: this.inputAt, changed: this.changedAt };
    this.inputAt = undefined;
    this.changedAt = undefined;
  }

  /** The update went out (sealed and handed to the socket). */
  sent(update: { frameId: bigint; kind: 'full' | 'rects'; timing: StepTiming }): void {
    const { startedAt, captureMs, compareMs, encodeMs } = update.timing;
    const line: LatencyTraceLine = {
      frameId: update.frameId.toString(),
      kind: update.kind,
      ...(this.taken.input !== undefined && { input: epochOf(this.taken.input) }),
      ...(this.taken.changed !== undefined && { changed: epochOf(this.taken.changed) }),
      captureStart: epochOf(startedAt),
      captured: epochOf(startedAt + captureMs),
      compared: epochOf(startedAt + captureMs + compareMs),
      encoded: epochOf(startedAt + captureMs + compareMs + encodeMs),
      sent: epochOf(performance.now()),
    };
    appendFileSync(this.path, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  }
}

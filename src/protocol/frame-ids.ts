// Frame ids are int64 .NET ticks: 100-ns intervals since 0001-01-01T00:00, what the reference client
// takes from DateTime.Now.Ticks (local time). Ours use UTC ticks from a generator that never repeats
// or goes back, so two frames captured in the same millisecond still get distinct, ordered ids.

export const TICKS_PER_MILLISECOND = 10_000n;
/** Ticks at 1970-01-01T00:00:00Z (DateTime.UnixEpoch.Ticks). */
export const UNIX_EPOCH_TICKS = 621_355_968_000_000_000n;

/** UTC .NET ticks for a Unix time in (possibly fractional) milliseconds. */
export function ticksFromUnixMs(unixMs: number): bigint {
  const whole = Math.floor(unixMs);
  const fraction = Math.round((unixMs - whole) * 10_000); // 0–10000 ticks
  return UNIX_EPOCH_TICKS + BigInt(whole) * TICKS_PER_MILLISECOND + BigInt(fraction);
}

/** Unix milliseconds (fractional below 1 ms) for UTC ticks. */
export function unixMsFromTicks(ticks: bigint): number {
  const sinceEpoch = ticks - UNIX_EPOCH_TICKS;
  const ms = sinceEpoch / TICKS_PER_MILLISECOND; // bigint division truncates toward zero
  const rest = sinceEpoch - ms * TICKS_PER_MILLISECOND;
  return Number(ms) + Number(rest) / 10_000;
}

/**
 * DateTime ticks of `date`: `'local'` is DateTime.Now.Ticks (the reference client's frame ids, which
 * jump back an hour when daylight saving ends), `'utc'` is DateTime.UtcNow.Ticks.
 */
export function dotnetTicks(date: Date = new Date(), kind: 'local' | 'utc' = 'local'): bigint {
  const utc = ticksFromUnixMs(date.getTime());
  if (kind === 'utc') return utc;
  return utc - BigInt(date.getTimezoneOffset()) * 60_000n * TICKS_PER_MILLISECOND;
}

/** Strictly increasing UTC-tick frame ids. `now` returns Unix ms (inject a clock in tests). */
export class FrameIdGenerator {
  private last = -1n;

  constructor(private readonly now: () => number = () => performance.timeOrigin + performance.now()) {}

  next(): bigint {
    const candidate = ticksFromUnixMs(this.now());
    this.last = candidate > this.last ? candidate : this.last + 1n;
    return this.last;
  }
}

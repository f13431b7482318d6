// Repairs an update a viewer lost entirely (docs/protocol.md, "Receive reports and stream
// settings"). With rectangles a still screen sends nothing, so a viewer that lost every datagram
// of the last update before the screen went still cannot see the gap. Its receive report names the
// newest update it received whole (`last_frame`); when that is older than the newest one sent to
// it, and that one went out long enough ago that it cannot still be in flight, a full frame is due.

/** Longer than any update takes to arrive: an update sent this long before a report is lost if unseen. */
export const IN_FLIGHT_MS = 1000;

export interface SentUpdate {
  frameId: bigint;
  /** When it went out (the agent's clock, ms). */
  at: number;
}

/** Whether a viewer that received `lastFrame` whole missed `newest`, judged at `now`. */
export function missedNewestUpdate(lastFrame: bigint, newest: SentUpdate | undefined, now: number): boolean {
  return newest !== undefined && lastFrame < newest.frameId && now - newest.at > IN_FLIGHT_MS;
}

/** The newest update sent to each viewer, and the check of a report against it. */
export class UpdateRepair {
  private readonly sent = new Map<number, SentUpdate>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** An update went out to these viewers. */
  sentTo(viewerIds: Iterable<number>, frameId: bigint): void {
    const at = this.now();
    for (const viewerId of viewerIds) this.sent.set(viewerId, { frameId, at });
  }

  removeViewer(viewerId: number): void {
    this.sent.delete(viewerId);
  }

  /** Whether this viewer's report (its `last_frame`, when it sent one) shows a lost last update. */
  needsFullFrame(viewerId: number, lastFrame: string | undefined): boolean {
    if (lastFrame === undefined) return false;
    return missedNewestUpdate(BigInt(lastFrame), this.sent.get(viewerId), this.now());
  }
}

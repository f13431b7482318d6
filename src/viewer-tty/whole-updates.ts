// Which update the viewer received whole, for the receive report's `last_frame` (docs/protocol.md,
// "Receive reports and stream settings"): a full frame counts when reassembled, rectangles when
// every one of their update arrived. The agent compares it with what it sent last, so an update
// lost entirely on a still screen (nothing follows that would reveal the gap) is still repaired.

/** Updates counted at once; an older one still arriving is given up (a newer one supersedes it). */
const MAX_ARRIVING = 32;

export class WholeUpdates {
  /** Rectangle indexes seen so far, per update still arriving. */
  private readonly arriving = new Map<bigint, Set<number>>();
  private newestId: bigint | undefined;

  /** The newest update received whole, if any. */
  get newest(): bigint | undefined {
    return this.newestId;
  }

  /** A new agent (fresh keys): its ids are its own. */
  reset(): void {
    this.arriving.clear();
    this.newestId = undefined;
  }

  /** A full frame was reassembled. */
  frame(frameId: bigint): void {
    if (this.newestId !== undefined && frameId <= this.newestId) return;
    this.newestId = frameId;
    for (const id of this.arriving.keys()) if (id <= frameId) this.arriving.delete(id);
  }

  /** One rectangle of an update was reassembled. */
  rect(frameId: bigint, rectIndex: number, rectCount: number): void {
    if (this.newestId !== undefined && frameId <= this.newestId) return;
    const seen = this.arriving.get(frameId) ?? new Set<number>();
    seen.add(rectIndex);
    this.arriving.set(frameId, seen);
    if (seen.size >= rectCount) return this.frame(frameId);
    if (this.arriving.size > MAX_ARRIVING) this.arriving.delete(this.arriving.keys().next().value!);
  }
}

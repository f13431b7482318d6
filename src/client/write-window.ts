// How far a copy's writes may run ahead of its oldest unfinished one. Chunks are written at their
// own offsets by several workers at once, so a copy stopped midway (Ctrl-C, a lost link) can leave
// holes below the destination's size. Bounding the spread to `span` bytes keeps every hole within
// the last `span` bytes of a partial file, which a resumed copy then writes again.

export class WriteWindow {
  private readonly unfinished = new Set<number>();
  private waiters: (() => void)[] = [];

  constructor(readonly span: number) {}

  /** Resolves once [position, position + length) may be written without leaving the span. */
  async admit(position: number, length: number): Promise<void> {
    while (this.unfinished.size > 0 && position + length - this.oldest() > this.span) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.unfinished.add(position);
  }

  /** The chunk at `position` is written (or failed: the copy is over either way). */
  finished(position: number): void {
    this.unfinished.delete(position);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private oldest(): number {
    let oldest = Infinity;
    for (const position of this.unfinished) oldest = Math.min(oldest, position);
    return oldest;
  }
}

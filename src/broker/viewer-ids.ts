// Viewer ids: uint16 on the wire (the sealed datagram header), never 0, unique among the live viewers
// of this broker process. Handed out round-robin so a just-freed id is not reused at once (a late
// datagram for the old viewer then cannot reach the new one).
import { MAX_VIEWER_ID } from '../protocol/index.js';

export class ViewerIds {
  private readonly taken = new Set<number>();
  private next = 1;

  /** A free id, or undefined when all 65 535 are in use. */
  take(): number | undefined {
    if (this.taken.size >= MAX_VIEWER_ID) return undefined;
    while (this.taken.has(this.next)) this.advance();
    const id = this.next;
    this.taken.add(id);
    this.advance();
    return id;
  }

  release(id: number): void {
    this.taken.delete(id);
  }

  private advance(): void {
    this.next = this.next >= MAX_VIEWER_ID ? 1 : this.next + 1;
  }
}

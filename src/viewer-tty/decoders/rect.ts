// Rectangle updates (type 7): the rectangles of one update are held until all of them arrived and
// the picture shows the update they were cut against (their base), then decoded and copied in
// together, and later updates that build on this one follow. An update that cannot be applied
// (a rectangle or a whole update lost, a base never seen) is reported as needing a whole frame.
import type { CompleteRect } from '../../protocol/rect-datagram.js';
import type { Compositor } from '../display/compositor.js';
import { decodeJpeg } from '../graphics/jpeg-decode.js';
import type { RgbImage } from '../graphics/rgb-image.js';

/** An update still incomplete or waiting for its base this long is taken as lost. */
export const RECT_REPAIR_AFTER_MS = 250;
/** Updates held at once; beyond it the oldest goes (a whole frame will be asked for). */
const MAX_PENDING_UPDATES = 32;

interface PendingUpdate {
  frameId: bigint;
  baseFrameId: bigint;
  rectCount: number;
  rects: Map<number, CompleteRect>;
  firstSeenAt: number;
}

export class RectDecoder {
  private readonly pending = new Map<bigint, PendingUpdate>();
  /** Set when something could not be applied: cleared by a whole frame. */
  private broken = false;
  decodeErrors = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Adds a rectangle; returns true when the picture changed (one or more updates applied). */
  push(rect: CompleteRect, compositor: Compositor): boolean {
    const shown = compositor.frameId;
    if (shown !== undefined && rect.frameId <= shown) return false;
    let update = this.pending.get(rect.frameId);
    if (!update) {
      update = {
        frameId: rect.frameId,
        baseFrameId: rect.baseFrameId,
        rectCount: rect.rectCount,
        rects: new Map(),
        firstSeenAt: this.now(),
      };
      this.pending.set(rect.frameId, update);
      this.bound();
    }
    if (update.rectCount !== rect.rectCount || update.baseFrameId !== rect.baseFrameId) this.broken = true;
    else update.rects.set(rect.rectIndex, rect);
    return this.drain(compositor);
  }

  /** After a whole frame: forget what it covers, apply what builds on it. */
  afterFullFrame(compositor: Compositor): boolean {
    this.broken = false;
    return this.drain(compositor);
  }

  /** Whether a whole frame is needed: something was lost or could not be applied. */
  needsFullFrame(compositor: Compositor): boolean {
    if (this.broken) return true;
    const now = this.now();
    for (const update of this.pending.values()) if (now - update.firstSeenAt > RECT_REPAIR_AFTER_MS) return true;
    // A complete update whose base is neither shown nor on its way: that base was lost.
    for (const update of this.pending.values()) {
      const complete = update.rects.size === update.rectCount;
      if (complete && update.baseFrameId !== compositor.frameId && !this.pending.has(update.baseFrameId)) return true;
    }
    return false;
  }

  private drain(compositor: Compositor): boolean {
    let changed = false;
    for (;;) {
      const shown = compositor.frameId;
      for (const id of this.pending.keys()) if (shown !== undefined && id <= shown) this.pending.delete(id);
      const next = [...this.pending.values()].find((u) => u.baseFrameId === shown && u.rects.size === u.rectCount);
      if (!next) return changed;
      this.pending.delete(next.frameId);
      if (!this.apply(next, compositor)) {
        this.broken = true;
        return changed;
      }
      changed = true;
    }
  }

  /** Decodes every rectangle first, so a corrupt one leaves the picture as it was. */
  private apply(update: PendingUpdate, compositor: Compositor): boolean {
    const decoded: { rect: CompleteRect; image: RgbImage }[] = [];
    for (const rect of update.rects.values()) {
      if (!compositor.fits(rect.x, rect.y, rect.width, rect.height)) return false;
      let image: RgbImage;
      try {
        image = decodeJpeg(rect.jpeg);
      } catch {
        this.decodeErrors++;
        return false;
      }
      if (image.width !== rect.width || image.height !== rect.height) return false;
      decoded.push({ rect, image });
    }
    for (const { rect, image } of decoded) compositor.blit(image, rect.x, rect.y);
    compositor.advance(update.frameId);
    return true;
  }

  private bound(): void {
    while (this.pending.size > MAX_PENDING_UPDATES) {
      const oldest = [...this.pending.keys()].reduce((a, b) => (b < a ? b : a));
      this.pending.delete(oldest);
      this.broken = true;
    }
  }
}

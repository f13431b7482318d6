// The changes the display server reported, numbered as they arrive, so each consumer (a stream's
// capture step, or two pipelines sharing one capture in a bench) asks "what changed since my last
// capture" with its own mark. Bounded: past MAX_ENTRIES the oldest go, and a mark older than what
// is kept gets the whole area (unknown counts as changed, never as still).
import type { Rect } from './screen-capture.js';

export const MAX_ENTRIES = 512;

interface Entry {
  serial: number;
  rect: Rect;
}

export class DamageLog {
  private entries: Entry[] = [];
  private serial = 0;
  /** Marks at or below this may have lost entries. */
  private forgottenUpTo = 0;

  /** The serial of the last change recorded. */
  mark(): number {
    return this.serial;
  }

  add(rect: Rect): void {
    if (rect.width <= 0 || rect.height <= 0) return;
    this.entries.push({ serial: ++this.serial, rect });
    if (this.entries.length > MAX_ENTRIES) {
      const dropped = this.entries.splice(0, this.entries.length - MAX_ENTRIES / 2);
      this.forgottenUpTo = dropped[dropped.length - 1]!.serial;
    }
  }

  /** Everything changed (the connection was re-established, the screen resized). */
  addEverything(): void {
    this.add({ x: -0x8000, y: -0x8000, width: 0x10000, height: 0x10000 });
  }

  changedSince(mark: number, area: Rect): Rect[] {
    if (mark < this.forgottenUpTo) return [{ x: 0, y: 0, width: area.width, height: area.height }];
    const out: Rect[] = [];
    for (let i = this.entries.length - 1; i >= 0 && this.entries[i]!.serial > mark; i--) {
      const clipped = intersect(this.entries[i]!.rect, area);
      if (clipped) out.push({ ...clipped, x: clipped.x - area.x, y: clipped.y - area.y });
    }
    return out.reverse();
  }
}

export function intersect(a: Rect, b: Rect): Rect | undefined {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const right = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  return right > x && bottom > y ? { x, y, width: right - x, height: bottom - y } : undefined;
}

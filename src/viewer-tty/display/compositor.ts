// The viewer's copy of the remote screen (as noVNC keeps one canvas): whole frames replace it,
// rectangles are copied into it, and the viewer paints from it. It also remembers which update it
// shows, so an update is applied only on top of the picture it was cut against, and which parts
// changed since the viewer last painted (so a renderer may redraw only those).
import type { Region } from '../graphics/fit.js';
import type { RgbImage } from '../graphics/rgb-image.js';

/** Changed regions kept between paints; beyond, the whole picture counts as changed. */
const MAX_CHANGED_REGIONS = 64;

export class Compositor {
  private image: RgbImage | undefined;
  private shownId: bigint | undefined;
  /** Changed since takeChanged(); undefined: all of it (a whole frame, or nothing taken yet). */
  private changed: Region[] | undefined;

  /** The remote screen as last composed (changed in place by rectangles). */
  get picture(): RgbImage | undefined {
    return this.image;
  }

  /** The id of the last whole frame or complete update applied. */
  get frameId(): bigint | undefined {
    return this.shownId;
  }

  replace(image: RgbImage, frameId: bigint): void {
    this.image = image;
    this.shownId = frameId;
    this.changed = undefined;
  }

  /** Whether a rectangle of this size at (x, y) lies inside the picture. */
  fits(x: number, y: number, width: number, height: number): boolean {
    return this.image !== undefined && x + width <= this.image.width && y + height <= this.image.height;
  }

  /** Copies `rect` to (x, y); the caller checked fits(). */
  blit(rect: RgbImage, x: number, y: number): void {
    const image = this.image!;
    const rowBytes = rect.width * 3;
    for (let row = 0; row < rect.height; row++) {
      const from = row * rowBytes;
      image.data.set(rect.data.subarray(from, from + rowBytes), ((y + row) * image.width + x) * 3);
    }
    this.changed?.push({ x, y, width: rect.width, height: rect.height });
    if (this.changed && this.changed.length > MAX_CHANGED_REGIONS) this.changed = undefined;
  }

  /** The regions changed since the last call (undefined: all of the picture), and starts afresh. */
  takeChanged(): Region[] | undefined {
    const changed = this.changed;
    this.changed = [];
    return changed;
  }

  /** An update was applied in full: the picture is now that update's. */
  advance(frameId: bigint): void {
    this.shownId = frameId;
  }
}

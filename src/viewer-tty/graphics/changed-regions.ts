// Which part of the drawn picture a change touches: remote regions (what the compositor updated)
// mapped into the part shown when zoomed in, and into the scaled picture a renderer sends.
import type { Region } from './fit.js';

/** Changed parts covering more than this share of the picture: one whole redraw instead of edits. */
export const MAX_EDIT_SHARE = 1 / 3;
/** Edits beyond this many: one whole redraw instead. */
export const MAX_EDITS = 16;

/** `changed` (remote pixels) as seen in the part cropped at `view` (as cropImage crops it), clipped to it. */
export function regionsInView(changed: readonly Region[], view: Region): Region[] {
  const left = Math.floor(view.x);
  const top = Math.floor(view.y);
  const width = Math.floor(view.width);
  const height = Math.floor(view.height);
  return changed
    .map((r) => clip({ x: r.x - left, y: r.y - top, width: r.width, height: r.height }, width, height))
    .filter((r) => r.width > 0 && r.height > 0);
}

/**
 * The pixels of the picture scaled from `source` to `target` that a change of `r` (source pixels)
 * can alter: the region scaled and rounded outward (a target pixel averages every source pixel it
 * covers, so one straddling the region's edge changes too), plus one pixel on each side, so
 * floating-point rounding can never leave a changed pixel out.
 */
export function scaledRegion(r: Region, source: { width: number; height: number }, target: { width: number; height: number }): Region {
  const sx = target.width / source.width;
  const sy = target.height / source.height;
  const x0 = Math.floor(r.x * sx) - 1;
  const y0 = Math.floor(r.y * sy) - 1;
  const x1 = Math.ceil((r.x + r.width) * sx) + 1;
  const y1 = Math.ceil((r.y + r.height) * sy) + 1;
  return clip({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, target.width, target.height);
}

/**
 * The target rectangles to redraw for `changed`, or undefined when a whole redraw is cheaper
 * (too many, or together more than MAX_EDIT_SHARE of the picture).
 */
export function editWindows(
  changed: readonly Region[],
  source: { width: number; height: number },
  target: { width: number; height: number },
): Region[] | undefined {
  if (changed.length > MAX_EDITS) return undefined;
  const scaled = changed.map((r) => scaledRegion(r, source, target)).filter((w) => w.width > 0 && w.height > 0);
  // A part changed twice between paints (or inside another) is sent once.
  const windows = scaled.filter((w, i) => !scaled.some((other, j) => j !== i && contains(other, w) && (j < i || !contains(w, other))));
  const area = windows.reduce((sum, w) => sum + w.width * w.height, 0);
  return area > target.width * target.height * MAX_EDIT_SHARE ? undefined : windows;
}

const contains = (a: Region, b: Region) => b.x >= a.x && b.y >= a.y && b.x + b.width <= a.x + a.width && b.y + b.height <= a.y + a.height;

function clip(r: Region, width: number, height: number): Region {
  const x = Math.max(0, Math.min(width, r.x));
  const y = Math.max(0, Math.min(height, r.y));
  return {
    x,
    y,
    width: Math.max(0, Math.min(width, r.x + r.width) - x),
    height: Math.max(0, Math.min(height, r.y + r.height) - y),
  };
}

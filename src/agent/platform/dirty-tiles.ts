// What changed between two captures of the same size, as a few rectangles (what RFB servers and
// RustDesk do): compare in 64×64 tiles (a row of pixels is compared whole first, so an unchanged
// row costs one memcmp), join runs of changed tiles in a row into spans, stack equal spans of
// consecutive rows into rectangles, and merge the closest rectangles while there are too many.
// When most of the picture changed, a whole frame is cheaper to encode and to send.
// dirtyRectsIn() is the same for a picture of which only some regions were captured again (the
// display reported changes there): only those regions are compared, then copied into the picture.
import type { CapturedFrame, Rect } from './screen-capture.js';

export const TILE_SIDE = 64;
export const DEFAULT_MAX_RECTS = 16;
/** Above this share of the picture changed, send a whole frame instead. */
export const DEFAULT_FULL_FRAME_SHARE = 0.5;
const MERGE_LIMIT_FACTOR = 8;

export interface DirtyOptions {
  tile?: number;
  maxRects?: number;
  fullFrameShare?: number;
}

/** `full`: most of the picture changed (or the sizes differ); else the changed rectangles (maybe none). */
export type DirtyResult = { full: true } | { full: false; rects: Rect[] };

export function dirtyRects(previous: CapturedFrame, next: CapturedFrame, options: DirtyOptions = {}): DirtyResult {
  if (previous.width !== next.width || previous.height !== next.height) return { full: true };
  const tile = options.tile ?? TILE_SIDE;
  return rectsOfGrid(dirtyTiles(previous, next, tile), tile, next, options);
}

/** A region of the picture captured again: `frame` holds the pixels of `rect`. */
export interface Patch {
  rect: Rect;
  frame: CapturedFrame;
}

/**
 * What changed in `picture` where `patches` were captured again (their rectangles aligned to the
 * tile grid, see tileAligned()), and `picture` updated with them in place. Outside the patches
 * nothing is compared: the caller knows nothing changed there.
 */
export function dirtyRectsIn(picture: CapturedFrame, patches: Patch[], options: DirtyOptions = {}): DirtyResult {
  const tile = options.tile ?? TILE_SIDE;
  const cols = Math.ceil(picture.width / tile);
  const grid = { cols, rows: Math.ceil(picture.height / tile), dirty: new Uint8Array(cols * Math.ceil(picture.height / tile)) };
  for (const patch of patches) compareAndCopy(picture, patch, grid, tile);
  return rectsOfGrid(grid, tile, picture, options);
}

/**
 * The reported changes as at most `max` tile-aligned regions to capture again, or undefined when
 * they are too scattered to merge cheaply (capture the whole picture then).
 */
export function tileRegions(changed: Rect[], width: number, height: number, max: number, tile = TILE_SIDE): Rect[] | undefined {
  const cols = Math.ceil(width / tile);
  const rows = Math.ceil(height / tile);
  const dirty = new Uint8Array(cols * rows);
  for (const rect of changed) {
    const aligned = tileAligned(rect, width, height, tile);
    for (let y = aligned.y / tile; y < (aligned.y + aligned.height) / tile; y++)
      for (let x = aligned.x / tile; x < (aligned.x + aligned.width) / tile; x++) dirty[y * cols + x] = 1;
  }
  const rects = mergeRows(spans({ cols, rows, dirty }), tile, { width, height });
  return rects.length > max * MERGE_LIMIT_FACTOR ? undefined : reduceTo(rects, max);
}

/** `rect` grown to whole tiles, clipped to a picture of `width`×`height`. */
export function tileAligned(rect: Rect, width: number, height: number, tile = TILE_SIDE): Rect {
  const x = Math.max(0, Math.floor(rect.x / tile) * tile);
  const y = Math.max(0, Math.floor(rect.y / tile) * tile);
  const right = Math.min(width, Math.ceil((rect.x + rect.width) / tile) * tile);
  const bottom = Math.min(height, Math.ceil((rect.y + rect.height) / tile) * tile);
  return { x, y, width: Math.max(0, right - x), height: Math.max(0, bottom - y) };
}

/** Marks the tiles under `patch` that differ from `picture`, then copies the patch's rows in. */
function compareAndCopy(picture: CapturedFrame, patch: Patch, grid: { cols: number; dirty: Uint8Array }, tile: number): void {
  const { rect, frame } = patch;
  const rowBytes = rect.width * 4;
  for (let row = 0; row < rect.height; row++) {
    const at = (rect.y + row) * picture.stride + rect.x * 4;
    const old = picture.data.subarray(at, at + rowBytes);
    const now = frame.data.subarray(row * frame.stride, row * frame.stride + rowBytes);
    if (old.equals(now)) continue;
    const base = Math.floor((rect.y + row) / tile) * grid.cols;
    for (let from = 0; from < rowBytes; from += tile * 4) {
      const col = Math.floor((rect.x + from / 4) / tile);
      if (grid.dirty[base + col]) continue;
      const to = Math.min(rowBytes, from + tile * 4);
      if (!old.subarray(from, to).equals(now.subarray(from, to))) grid.dirty[base + col] = 1;
    }
    now.copy(picture.data, at);
  }
}

function rectsOfGrid(
  grid: { cols: number; rows: number; dirty: Uint8Array },
  tile: number,
  next: CapturedFrame,
  options: DirtyOptions,
): DirtyResult {
  let rects = mergeRows(spans(grid), tile, next);
  const changed = rects.reduce((sum, r) => sum + r.width * r.height, 0);
  if (changed > next.width * next.height * (options.fullFrameShare ?? DEFAULT_FULL_FRAME_SHARE)) return { full: true };
  const maxRects = options.maxRects ?? DEFAULT_MAX_RECTS;
  // Merging is quadratic per step: a picture changed in that many scattered places goes whole.
  if (rects.length > maxRects * MERGE_LIMIT_FACTOR) return { full: true };
  rects = reduceTo(rects, maxRects);
  const area = rects.reduce((sum, r) => sum + r.width * r.height, 0);
  if (area > next.width * next.height * (options.fullFrameShare ?? DEFAULT_FULL_FRAME_SHARE)) return { full: true };
  return { full: false, rects };
}

/** One boolean per tile, row-major: did any pixel under it change? */
function dirtyTiles(a: CapturedFrame, b: CapturedFrame, tile: number): { cols: number; rows: number; dirty: Uint8Array } {
  const cols = Math.ceil(b.width / tile);
  const rows = Math.ceil(b.height / tile);
  const dirty = new Uint8Array(cols * rows);
  const rowBytes = b.width * 4;
  for (let y = 0; y < b.height; y++) {
    const aRow = a.data.subarray(y * a.stride, y * a.stride + rowBytes);
    const bRow = b.data.subarray(y * b.stride, y * b.stride + rowBytes);
    if (aRow.equals(bRow)) continue;
    const base = Math.floor(y / tile) * cols;
    for (let col = 0; col < cols; col++) {
      if (dirty[base + col]) continue;
      const from = col * tile * 4;
      const to = Math.min(rowBytes, from + tile * 4);
      if (!aRow.subarray(from, to).equals(bRow.subarray(from, to))) dirty[base + col] = 1;
    }
  }
  return { cols, rows, dirty };
}

interface Span {
  row: number;
  from: number;
  to: number; // exclusive, in tiles
}

function spans(grid: { cols: number; rows: number; dirty: Uint8Array }): Span[] {
  const out: Span[] = [];
  for (let row = 0; row < grid.rows; row++) {
    let col = 0;
    while (col < grid.cols) {
      if (!grid.dirty[row * grid.cols + col]) {
        col++;
        continue;
      }
      const from = col;
      while (col < grid.cols && grid.dirty[row * grid.cols + col]) col++;
      out.push({ row, from, to: col });
    }
  }
  return out;
}

/** Spans of the same columns in consecutive rows become one rectangle, in pixels clipped to the frame. */
function mergeRows(all: Span[], tile: number, frame: { width: number; height: number }): Rect[] {
  const open = new Map<string, { span: Span; rows: number }>();
  const done: { span: Span; rows: number }[] = [];
  for (const span of all) {
    const key = `${span.from}:${span.to}`;
    const current = open.get(key);
    if (current && current.span.row + current.rows === span.row) current.rows++;
    else {
      if (current) done.push(current);
      open.set(key, { span, rows: 1 });
    }
  }
  done.push(...open.values());
  return done.map(({ span, rows }) => {
    const x = span.from * tile;
    const y = span.row * tile;
    return { x, y, width: Math.min(frame.width, span.to * tile) - x, height: Math.min(frame.height, (span.row + rows) * tile) - y };
  });
}

/** Merges the pair whose bounding box adds the least area until at most `max` remain (they may then overlap). */
function reduceTo(rects: Rect[], max: number): Rect[] {
  const out = [...rects];
  while (out.length > max) {
    let best = { i: 0, j: 1, cost: Number.POSITIVE_INFINITY };
    for (let i = 0; i < out.length; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const cost = area(union(out[i]!, out[j]!)) - area(out[i]!) - area(out[j]!);
        if (cost < best.cost) best = { i, j, cost };
      }
    }
    out[best.i] = union(out[best.i]!, out[best.j]!);
    out.splice(best.j, 1);
  }
  return out;
}

const area = (r: Rect) => r.width * r.height;

function union(a: Rect, b: Rect): Rect {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/** The pixels of `rect` as a packed frame of their own (the encoder's input). */
export function cropFrame(frame: CapturedFrame, rect: Rect): CapturedFrame {
  const stride = rect.width * 4;
  const data = Buffer.allocUnsafe(stride * rect.height);
  for (let row = 0; row < rect.height; row++) {
    const from = (rect.y + row) * frame.stride + rect.x * 4;
    frame.data.copy(data, row * stride, from, from + stride);
  }
  return { data, width: rect.width, height: rect.height, stride };
}

// Zoom and pan: which region of the remote picture the terminal shows, and in which cells.
// Scales are in terminal pixels per remote pixel (cells × the cell size), so every renderer and
// the mouse share one geometry; the renderers get the picture cropped to the region.
import type { CellSize, Placement, Region } from './fit.js';
import type { GraphicsMode } from './renderer.js';

/** 'fit': the whole picture; a number: that many times the fitted scale; '1:1': one remote pixel per device pixel. */
export type Zoom = 'fit' | number | '1:1';

export interface View {
  zoom: Zoom;
  /** The point of the picture the view is centred on, as fractions of its width and height. */
  centerX: number;
  centerY: number;
}

export const FIT_VIEW: View = { zoom: 'fit', centerX: 0.5, centerY: 0.5 };
export const ZOOM_FACTORS: readonly number[] = [1.5, 2, 3, 4];

/** The area the picture may use: `cols × rows` cells of `cell` pixels. */
export interface Screen {
  cols: number;
  rows: number;
  cell: CellSize;
}

/**
 * The scale of 1:1, one remote pixel per device pixel: half-blocks draw one pixel per column
 * (a cell's width in terminal pixels); kitty and sixel draw the terminal's own pixels, which
 * the viewer knows only when the terminal reported its cell size.
 */
export function oneToOneScale(mode: GraphicsMode, cell: CellSize, cellReported: boolean): number | undefined {
  if (mode === 'blocks') return cell.width;
  return cellReported ? 1 : undefined;
}

export function fitScale(imageWidth: number, imageHeight: number, screen: Screen): number {
  return Math.min((screen.cols * screen.cell.width) / imageWidth, (screen.rows * screen.cell.height) / imageHeight);
}

/** The zoom steps for this picture and screen, in order: fit, 1.5×…4×, and 1:1 where it magnifies. */
export function zoomLevels(fit: number, oneToOne?: number): Zoom[] {
  const levels: Array<{ zoom: Zoom; factor: number }> = [{ zoom: 'fit', factor: 1 }, ...ZOOM_FACTORS.map((f) => ({ zoom: f, factor: f }))];
  const factor = oneToOne === undefined ? 0 : oneToOne / fit;
  if (factor <= 1.03) return levels.map((l) => l.zoom);
  // A step within 3% of 1:1 is 1:1.
  const kept = levels.filter((l) => l.zoom === 'fit' || Math.abs(l.factor / factor - 1) > 0.03);
  return [...kept, { zoom: '1:1' as const, factor }].sort((a, b) => a.factor - b.factor).map((l) => l.zoom);
}

/** Terminal pixels per remote pixel at `zoom`. */
export function zoomScale(zoom: Zoom, fit: number, oneToOne?: number): number {
  if (zoom === 'fit') return fit;
  if (zoom === '1:1') return oneToOne ?? fit;
  return fit * zoom;
}

/** The next zoom in (`+1`) or out (`-1`) from `zoom`; stays put at either end. */
export function stepZoom(zoom: Zoom, direction: 1 | -1, fit: number, oneToOne?: number): Zoom {
  const levels = zoomLevels(fit, oneToOne);
  const scale = zoomScale(zoom, fit, oneToOne);
  const scales = levels.map((l) => zoomScale(l, fit, oneToOne));
  if (direction > 0) return levels[scales.findIndex((s) => s > scale * 1.001)] ?? levels.at(-1)!;
  const lower = scales.map((s, i) => [s, i] as const).filter(([s]) => s < scale * 0.999);
  return lower.length ? levels[lower.at(-1)![1]]! : 'fit';
}

export function zoomLabel(zoom: Zoom): string {
  if (typeof zoom === 'number') return `${zoom}×`;
  return zoom;
}

const clamp = (v: number, low: number, high: number) => Math.min(high, Math.max(low, v));

/** The region of an `imageWidth × imageHeight` picture that `view` shows, in whole remote pixels. */
export function visibleRegion(imageWidth: number, imageHeight: number, screen: Screen, scale: number, view: View): Region {
  const width = clamp(Math.round((screen.cols * screen.cell.width) / scale), 1, imageWidth);
  const height = clamp(Math.round((screen.rows * screen.cell.height) / scale), 1, imageHeight);
  const x = clamp(Math.round(view.centerX * imageWidth - width / 2), 0, imageWidth - width);
  const y = clamp(Math.round(view.centerY * imageHeight - height / 2), 0, imageHeight - height);
  return { x, y, width, height };
}

/**
 * Where the picture goes for `view`: the visible region and the cells it covers (centred, the
 * region's aspect ratio kept). At 'fit' this is the whole picture, exactly as `fitImage` places it.
 */
export function placeView(imageWidth: number, imageHeight: number, screen: Screen, view: View, oneToOne?: number): Placement {
  const { cols, rows, cell } = screen;
  if (imageWidth <= 0 || imageHeight <= 0 || cols <= 0 || rows <= 0) {
    return { left: 0, top: 0, cols: 0, rows: 0, imageWidth, imageHeight };
  }
  const fit = fitScale(imageWidth, imageHeight, screen);
  const scale = zoomScale(view.zoom, fit, oneToOne);
  const region = visibleRegion(imageWidth, imageHeight, screen, scale, view.zoom === 'fit' ? FIT_VIEW : view);
  const useCols = clamp(Math.round((region.width * scale) / cell.width), 1, cols);
  const useRows = clamp(Math.round((region.height * scale) / cell.height), 1, rows);
  return {
    left: Math.floor((cols - useCols) / 2),
    top: Math.floor((rows - useRows) / 2),
    cols: useCols,
    rows: useRows,
    imageWidth,
    imageHeight,
    region,
  };
}

/** The view with its centre moved to the middle of what is actually shown (panning stops at the edges). */
export function settleView(view: View, placement: Placement): View {
  const r = placement.region;
  if (!r || view.zoom === 'fit') return view;
  return { ...view, centerX: (r.x + r.width / 2) / placement.imageWidth, centerY: (r.y + r.height / 2) / placement.imageHeight };
}

/** Moves the view a quarter of the visible region left/right (`dx` ±1) or up/down (`dy` ±1). */
export function panView(view: View, placement: Placement, dx: number, dy: number): View {
  const r = placement.region;
  if (!r || view.zoom === 'fit') return view;
  const settled = settleView(view, placement);
  return {
    ...settled,
    centerX: clamp(settled.centerX + (dx * r.width) / 4 / placement.imageWidth, 0, 1),
    centerY: clamp(settled.centerY + (dy * r.height) / 4 / placement.imageHeight, 0, 1),
  };
}

// Fitting the remote screen into the terminal: which cells the picture covers, keeping its aspect
// ratio, and the way back from a cell to a remote pixel (for the mouse).

export interface CellSize {
  /** Pixels per cell, as the terminal reports them (CSI 16 t), or a usual guess. */
  width: number;
  height: number;
}

export const DEFAULT_CELL: CellSize = { width: 10, height: 20 };

/** A rectangle of the remote picture, in remote pixels. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Placement {
  /** 0-based cell of the picture's top-left corner. */
  left: number;
  top: number;
  /** Cells the picture covers. */
  cols: number;
  rows: number;
  /** The remote picture's size in pixels. */
  imageWidth: number;
  imageHeight: number;
  /** The part of the picture shown (zoomed in); absent: all of it. */
  region?: Region;
}

/** Centres an image of `imageWidth × imageHeight` in `cols × rows` cells of `cell` pixels. */
export function fitImage(imageWidth: number, imageHeight: number, cols: number, rows: number, cell: CellSize = DEFAULT_CELL): Placement {
  if (imageWidth <= 0 || imageHeight <= 0 || cols <= 0 || rows <= 0) {
    return { left: 0, top: 0, cols: 0, rows: 0, imageWidth, imageHeight };
  }
  const scale = Math.min((cols * cell.width) / imageWidth, (rows * cell.height) / imageHeight);
  const fitCols = Math.max(1, Math.min(cols, Math.round((imageWidth * scale) / cell.width)));
  const fitRows = Math.max(1, Math.min(rows, Math.round((imageHeight * scale) / cell.height)));
  return {
    left: Math.floor((cols - fitCols) / 2),
    top: Math.floor((rows - fitRows) / 2),
    cols: fitCols,
    rows: fitRows,
    imageWidth,
    imageHeight,
  };
}

/**
 * A 0-based terminal cell → the remote pixel under its centre (within the region shown), or
 * undefined outside the picture.
 * `subX`/`subY` (0..1) refine within the cell when the terminal reports pixel positions.
 */
export function cellToRemote(placement: Placement, col: number, row: number, subX = 0.5, subY = 0.5): { x: number; y: number } | undefined {
  const cx = col - placement.left;
  const cy = row - placement.top;
  if (cx < 0 || cy < 0 || cx >= placement.cols || cy >= placement.rows) return undefined;
  const r = placement.region ?? { x: 0, y: 0, width: placement.imageWidth, height: placement.imageHeight };
  const x = Math.min(Math.ceil(r.x + r.width) - 1, Math.floor(r.x + ((cx + subX) / placement.cols) * r.width));
  const y = Math.min(Math.ceil(r.y + r.height) - 1, Math.floor(r.y + ((cy + subY) / placement.rows) * r.height));
  return { x, y };
}

/**
 * The placement measured in the remote screen's pixels, `width × height`, which mouse packets use;
 * the agent may send frames smaller than its screen (--max-width).
 */
export function inScreenPixels(placement: Placement, width: number, height: number): Placement {
  const sx = width / placement.imageWidth;
  const sy = height / placement.imageHeight;
  const r = placement.region ?? { x: 0, y: 0, width: placement.imageWidth, height: placement.imageHeight };
  return {
    ...placement,
    imageWidth: width,
    imageHeight: height,
    region: { x: r.x * sx, y: r.y * sy, width: r.width * sx, height: r.height * sy },
  };
}

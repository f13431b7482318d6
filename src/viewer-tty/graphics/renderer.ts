// What every graphics mode offers the viewer: turn a decoded frame into bytes for the terminal.
import type { CellSize, Placement, Region } from './fit.js';
import type { RgbImage } from './rgb-image.js';

export type GraphicsMode = 'kitty' | 'sixel' | 'blocks';
export const GRAPHICS_MODES: readonly GraphicsMode[] = ['kitty', 'sixel', 'blocks'];

export interface GraphicsRenderer {
  readonly mode: GraphicsMode;
  /**
   * Bytes that draw `frame` into the cells of `placement` (the frame is scaled here). `changed`: the
   * parts of `frame` (its own pixels) that changed since the last draw, which a renderer may redraw
   * alone when the placement is the same; undefined: all of it.
   */
  draw(frame: RgbImage, placement: Placement, cell: CellSize, changed?: readonly Region[]): string;
  /** Forget what is on screen (after a resize or a clear), so the next draw is complete. */
  invalidate(): void;
  /** Bytes that remove the picture (kitty images live outside the text grid). */
  erase(): string;
}

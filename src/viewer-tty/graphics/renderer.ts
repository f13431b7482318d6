// What every graphics mode offers the viewer: turn a decoded frame into bytes for the terminal.
import type { CellSize, Placement } from './fit.js';
import type { RgbImage } from './rgb-image.js';

export type GraphicsMode = 'kitty' | 'sixel' | 'blocks';
export const GRAPHICS_MODES: readonly GraphicsMode[] = ['kitty', 'sixel', 'blocks'];

export interface GraphicsRenderer {
  readonly mode: GraphicsMode;
  /** Bytes that draw `frame` into the cells of `placement` (the frame is scaled here). */
  draw(frame: RgbImage, placement: Placement, cell: CellSize): string;
  /** Forget what is on screen (after a resize or a clear), so the next draw is complete. */
  invalidate(): void;
  /** Bytes that remove the picture (kitty images live outside the text grid). */
  erase(): string;
}

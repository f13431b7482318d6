import { HalfBlockRenderer } from './half-blocks.js';
import { KittyRenderer } from './kitty.js';
import type { GraphicsMode, GraphicsRenderer } from './renderer.js';
import { SixelRenderer } from './sixel.js';

/** `kittyEdits`: the terminal applies kitty frame edits, so a kitty picture may be redrawn in part. */
export function createRenderer(mode: GraphicsMode, options: { kittyEdits?: boolean } = {}): GraphicsRenderer {
  switch (mode) {
    case 'kitty':
      return new KittyRenderer(undefined, { edits: options.kittyEdits ?? false });
    case 'sixel':
      return new SixelRenderer();
    case 'blocks':
      return new HalfBlockRenderer();
  }
}

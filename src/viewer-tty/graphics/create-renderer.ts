import { HalfBlockRenderer } from './half-blocks.js';
import { KittyRenderer } from './kitty.js';
import type { GraphicsMode, GraphicsRenderer } from './renderer.js';
import { SixelRenderer } from './sixel.js';

export function createRenderer(mode: GraphicsMode): GraphicsRenderer {
  switch (mode) {
    case 'kitty':
      return new KittyRenderer();
    case 'sixel':
      return new SixelRenderer();
    case 'blocks':
      return new HalfBlockRenderer();
  }
}

// Whole frames (type 1): the JPEG replaces the composed picture, unless a newer update is shown.
import type { Compositor } from '../display/compositor.js';
import { decodeJpeg } from '../graphics/jpeg-decode.js';

/** True when the frame was applied; throws what the JPEG decoder throws on a corrupt image. */
export function applyFullFrame(jpeg: Uint8Array, frameId: bigint, compositor: Compositor): boolean {
  const shown = compositor.frameId;
  if (shown !== undefined && frameId <= shown) return false;
  compositor.replace(decodeJpeg(jpeg), frameId);
  return true;
}

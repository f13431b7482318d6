// The viewer-mode keys that pin the agent's JPEG quality and frame rate, or hand them back to its
// controller (man/rac-view.1): [ and ] lower and raise the quality, { and } the frame rate, a
// returns to automatic. A pin starts from the values the agent last said it uses (stream_settings).
import type { StreamSettingsShown } from './link-stats.js';

export const QUALITY_KEY_STEP = 10;
export const FPS_KEY_STEP = 2;
/** The highest frame rate a pin asks for; the agent keeps it under its own --fps anyway. */
const MAX_PIN_FPS = 60;

export type QualityKeyAction = { kind: 'pin'; quality: number; fps: number } | { kind: 'auto' };

/** What a viewer-mode key asks of the agent; undefined for other keys, or before the agent said its values. */
export function qualityKeyAction(name: string, current: StreamSettingsShown | undefined): QualityKeyAction | undefined {
  if (name === 'a') return { kind: 'auto' };
  if (!current) return undefined;
  const step = QUALITY_KEYS.get(name);
  if (!step) return undefined;
  return {
    kind: 'pin',
    quality: clamp(current.quality + step.quality, 1, 100),
    fps: clamp(current.fps + step.fps, 1, MAX_PIN_FPS),
  };
}

const QUALITY_KEYS = new Map<string, { quality: number; fps: number }>([
  ['[', { quality: -QUALITY_KEY_STEP, fps: 0 }],
  [']', { quality: QUALITY_KEY_STEP, fps: 0 }],
  ['{', { quality: 0, fps: -FPS_KEY_STEP }],
  ['}', { quality: 0, fps: FPS_KEY_STEP }],
]);

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

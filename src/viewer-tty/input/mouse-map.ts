// Terminal mouse events → the type-2 packets' fields: remote pixel, button (0 move, 1 left,
// 2 right, 3 middle, 4 wheel up, 5 wheel down) and state (1 down, 0 up).
import { VK } from '../../protocol/virtual-keys.js';
import { type Placement, cellToRemote } from '../graphics/fit.js';
import type { MouseEvent } from './terminal-input.js';

export interface RemoteMouse {
  x: number;
  y: number;
  button: number;
  state: number;
}

const BUTTON_CODE: Record<MouseEvent['button'], number> = {
  none: 0,
  left: 1,
  right: 2,
  middle: 3,
  'wheel-up': 4,
  'wheel-down': 5,
  'wheel-left': 0,
  'wheel-right': 0,
};

/**
 * One terminal mouse event → the packet to send, or undefined (outside the picture, or a
 * horizontal wheel the wire format has no code for). A wheel notch is one "down" packet.
 */
export function mapMouse(event: MouseEvent, placement: Placement): RemoteMouse | undefined {
  const at = cellToRemote(placement, event.col, event.row);
  if (!at) return undefined;
  if (event.action === 'move') return { ...at, button: 0, state: 0 };
  const button = BUTTON_CODE[event.button];
  if (button === 0) return undefined;
  return { ...at, button, state: event.action === 'press' ? 1 : 0 };
}

export type RemoteInput = { kind: 'key'; vk: number; down: boolean } | ({ kind: 'mouse' } & RemoteMouse);

const MODIFIER_KEYS: Array<[keyof Pick<MouseEvent, 'ctrl' | 'alt' | 'shift'>, number]> = [
  ['ctrl', VK.CONTROL],
  ['alt', VK.MENU],
  ['shift', VK.SHIFT],
];

/**
 * The packets for one mouse event, with the modifiers held during a click (Ctrl-click, Shift-click)
 * pressed before a button goes down and released after it comes up; a wheel notch with Ctrl
 * (zoom) gets both around it.
 */
export function mouseInputs(event: MouseEvent, placement: Placement): RemoteInput[] {
  const remote = mapMouse(event, placement);
  if (!remote) return [];
  const mouse: RemoteInput = { kind: 'mouse', ...remote };
  if (remote.button === 0) return [mouse];
  const mods = MODIFIER_KEYS.filter(([flag]) => event[flag]).map(([, vk]) => vk);
  const down = mods.map((vk): RemoteInput => ({ kind: 'key', vk, down: true }));
  const up = mods.reverse().map((vk): RemoteInput => ({ kind: 'key', vk, down: false }));
  if (remote.button >= 4) return [...down, mouse, ...up];
  return remote.state === 1 ? [...down, mouse] : [mouse, ...up];
}

// Terminal keys → Windows virtual-key codes (what the agent injects), with the modifier keys
// pressed around them. Shifted symbols are sent as Shift + the unshifted key of a US layout,
// which is how Windows names them (VK_OEM_*).
import { US_OEM_KEYS, US_SHIFTED, VK } from '../../protocol/virtual-keys.js';
import type { KeyEvent } from './terminal-input.js';

const NAMED: Record<string, number> = {
  enter: VK.RETURN,
  tab: VK.TAB,
  backspace: VK.BACK,
  escape: VK.ESCAPE,
  clear: VK.CLEAR,
  up: VK.UP,
  down: VK.DOWN,
  left: VK.LEFT,
  right: VK.RIGHT,
  home: VK.HOME,
  end: VK.END,
  pageup: VK.PRIOR,
  pagedown: VK.NEXT,
  insert: VK.INSERT,
  delete: VK.DELETE,
  ' ': VK.SPACE,
};
for (let n = 1; n <= 12; n++) NAMED[`f${n}`] = VK.F1 + n - 1;

export interface VkPress {
  vk: number;
  shift: boolean;
}

/** The virtual key for a key event (and whether Shift is part of it), or undefined if none fits. */
export function virtualKey(event: KeyEvent): VkPress | undefined {
  const { name } = event;
  const named = NAMED[name];
  if (named !== undefined) return { vk: named, shift: event.shift };
  if (name.length !== 1) return undefined;
  if (name >= 'a' && name <= 'z') return { vk: name.toUpperCase().charCodeAt(0), shift: event.shift };
  if (name >= 'A' && name <= 'Z') return { vk: name.charCodeAt(0), shift: true };
  if (name >= '0' && name <= '9') return { vk: name.charCodeAt(0), shift: event.shift };
  const punct = Object.hasOwn(US_OEM_KEYS, name) ? US_OEM_KEYS[name] : undefined;
  if (punct !== undefined) return { vk: punct, shift: event.shift };
  const base = Object.hasOwn(US_SHIFTED, name) ? US_SHIFTED[name] : undefined;
  if (base !== undefined) return { vk: virtualKey({ ...event, name: base })!.vk, shift: true };
  return undefined;
}

export interface KeyStroke {
  vk: number;
  down: boolean;
}

/** The full press: modifiers down, key down, key up, modifiers up (in reverse). */
export function keyStrokes(event: KeyEvent): KeyStroke[] {
  const press = virtualKey(event);
  if (!press) return [];
  const mods: number[] = [];
  if (event.ctrl) mods.push(VK.CONTROL);
  if (event.alt) mods.push(VK.MENU);
  if (press.shift) mods.push(VK.SHIFT);
  if (event.meta) mods.push(VK.LWIN);
  return [
    ...mods.map((vk) => ({ vk, down: true })),
    { vk: press.vk, down: true },
    { vk: press.vk, down: false },
    ...mods.reverse().map((vk) => ({ vk, down: false })),
  ];
}

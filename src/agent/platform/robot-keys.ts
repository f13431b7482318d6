// Windows virtual-key codes (what viewers and the Openctrol clients send) → robotjs key names,
// and the Openctrol key names of /api/v1/rd/session. Codes robotjs cannot press map to nothing.
import { US_OEM_KEYS, US_SHIFTED, VK } from '../../protocol/virtual-keys.js';

const table = new Map<number, string>([
  [VK.BACK, 'backspace'],
  [VK.TAB, 'tab'],
  [VK.RETURN, 'enter'],
  [VK.SHIFT, 'shift'],
  [VK.CONTROL, 'control'],
  [VK.MENU, 'alt'],
  [VK.CAPITAL, 'capslock'],
  [VK.ESCAPE, 'escape'],
  [VK.SPACE, 'space'],
  [VK.PRIOR, 'pageup'],
  [VK.NEXT, 'pagedown'],
  [VK.END, 'end'],
  [VK.HOME, 'home'],
  [VK.LEFT, 'left'],
  [VK.UP, 'up'],
  [VK.RIGHT, 'right'],
  [VK.DOWN, 'down'],
  [VK.SNAPSHOT, 'printscreen'],
  [VK.INSERT, 'insert'],
  [VK.DELETE, 'delete'],
  [VK.LWIN, 'command'],
  [VK.RWIN, 'command'],
  [VK.APPS, 'menu'],
  [VK.MULTIPLY, 'numpad_*'],
  [VK.ADD, 'numpad_+'],
  [VK.SUBTRACT, 'numpad_-'],
  [VK.DECIMAL, 'numpad_.'],
  [VK.DIVIDE, 'numpad_/'],
  [VK.NUMLOCK, 'numpad_lock'],
  [VK.LSHIFT, 'shift'],
  [VK.RSHIFT, 'right_shift'],
  [VK.LCONTROL, 'left_control'],
  [VK.RCONTROL, 'right_control'],
  [VK.LMENU, 'alt'],
  [VK.RMENU, 'right_alt'],
  [VK.VOLUME_MUTE, 'audio_mute'],
  [VK.VOLUME_DOWN, 'audio_vol_down'],
  [VK.VOLUME_UP, 'audio_vol_up'],
  [VK.MEDIA_NEXT_TRACK, 'audio_next'],
  [VK.MEDIA_PREV_TRACK, 'audio_prev'],
  [VK.MEDIA_STOP, 'audio_stop'],
  [VK.MEDIA_PLAY_PAUSE, 'audio_play'],
]);
for (let i = 0; i <= 9; i++) {
  table.set(VK.KEY_0 + i, String(i)); // top-row digits
  table.set(VK.NUMPAD0 + i, `numpad_${i}`);
}
for (let i = 0; i < 26; i++) table.set(VK.KEY_A + i, String.fromCharCode(0x61 + i)); // A–Z → a–z
for (let i = 1; i <= 24; i++) table.set(VK.F1 + i - 1, `f${i}`);
// OEM punctuation: robotjs names these keys by the character they type unshifted (US layout).
for (const [char, code] of Object.entries(US_OEM_KEYS)) table.set(code, char);

/** The robotjs key for a Windows virtual-key code, or undefined when robotjs has none. */
export function robotKeyForVirtualKey(code: number): string | undefined {
  return table.get(code);
}

export const MODIFIER_KEYS = new Set(['shift', 'right_shift', 'control', 'left_control', 'right_control', 'alt', 'right_alt', 'command']);

/** Openctrol's key names (`["CTRL","ALT","DEL"]`) → robotjs keys; single letters and digits too. */
export function robotKeyForName(name: string): string | undefined {
  const upper = name.trim().toUpperCase();
  const named = OPENCTROL_NAMES[upper];
  if (named) return named;
  if (/^F([1-9]|1[0-9]|2[0-4])$/.test(upper)) return upper.toLowerCase();
  if (/^[A-Z0-9]$/.test(upper)) return upper.toLowerCase();
  if (isUsOemChar(name)) return name;
  return undefined;
}

const OPENCTROL_NAMES: Record<string, string> = {
  CTRL: 'control',
  CONTROL: 'control',
  ALT: 'alt',
  SHIFT: 'shift',
  WIN: 'command',
  META: 'command',
  SUPER: 'command',
  TAB: 'tab',
  ESC: 'escape',
  ESCAPE: 'escape',
  ENTER: 'enter',
  RETURN: 'enter',
  SPACE: 'space',
  DEL: 'delete',
  DELETE: 'delete',
  BACKSPACE: 'backspace',
  UP: 'up',
  DOWN: 'down',
  LEFT: 'left',
  RIGHT: 'right',
  HOME: 'home',
  END: 'end',
  PAGEUP: 'pageup',
  PAGEDOWN: 'pagedown',
  INSERT: 'insert',
  INS: 'insert',
  MENU: 'menu',
  PRINTSCREEN: 'printscreen',
  CAPSLOCK: 'capslock',
};

const isUsOemChar = (char: string) => Object.hasOwn(US_OEM_KEYS, char);

/** How to type one character on a US layout: the key and whether Shift is needed. */
export function keystrokeForChar(char: string): { key: string; shift: boolean } | undefined {
  if (char === '\n' || char === '\r') return { key: 'enter', shift: false };
  if (char === '\t') return { key: 'tab', shift: false };
  if (char === ' ') return { key: 'space', shift: false };
  if (/^[a-z0-9]$/.test(char) || isUsOemChar(char)) return { key: char, shift: false };
  if (/^[A-Z]$/.test(char)) return { key: char.toLowerCase(), shift: true };
  const base = Object.hasOwn(US_SHIFTED, char) ? US_SHIFTED[char] : undefined;
  return base ? { key: base, shift: true } : undefined;
}

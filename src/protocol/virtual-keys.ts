// Windows virtual-key codes: what type-3 keyboard packets and the Openctrol `key` message carry.
// Source: Microsoft's "Virtual-Key Codes" table (learn.microsoft.com/windows/win32/inputdev/virtual-key-codes,
// the VK_* macros of winuser.h). Keys here are the Microsoft names without the `VK_` prefix; the
// letters and digits, which Microsoft leaves unnamed ("A key"), are KEY_A…KEY_Z and KEY_0…KEY_9.
// The Xbox gamepad codes (0xC3–0xDA) are left out: no capture or input path here produces them.

export const VK = {
  // Mouse buttons (they are virtual keys too)
  LBUTTON: 0x01,
  RBUTTON: 0x02,
  CANCEL: 0x03, // Control-break
  MBUTTON: 0x04,
  XBUTTON1: 0x05,
  XBUTTON2: 0x06,
  // Editing and control
  BACK: 0x08, // Backspace
  TAB: 0x09,
  CLEAR: 0x0c,
  RETURN: 0x0d, // Enter
  SHIFT: 0x10,
  CONTROL: 0x11,
  MENU: 0x12, // Alt
  PAUSE: 0x13,
  CAPITAL: 0x14, // Caps Lock
  // IME
  KANA: 0x15,
  HANGUL: 0x15,
  IME_ON: 0x16,
  JUNJA: 0x17,
  FINAL: 0x18,
  HANJA: 0x19,
  KANJI: 0x19,
  IME_OFF: 0x1a,
  ESCAPE: 0x1b,
  CONVERT: 0x1c,
  NONCONVERT: 0x1d,
  ACCEPT: 0x1e,
  MODECHANGE: 0x1f,
  // Navigation
  SPACE: 0x20,
  PRIOR: 0x21, // Page Up
  NEXT: 0x22, // Page Down
  END: 0x23,
  HOME: 0x24,
  LEFT: 0x25,
  UP: 0x26,
  RIGHT: 0x27,
  DOWN: 0x28,
  SELECT: 0x29,
  PRINT: 0x2a,
  EXECUTE: 0x2b,
  SNAPSHOT: 0x2c, // Print Screen
  INSERT: 0x2d,
  DELETE: 0x2e,
  HELP: 0x2f,
  // Digits (top row)
  KEY_0: 0x30,
  KEY_1: 0x31,
  KEY_2: 0x32,
  KEY_3: 0x33,
  KEY_4: 0x34,
  KEY_5: 0x35,
  KEY_6: 0x36,
  KEY_7: 0x37,
  KEY_8: 0x38,
  KEY_9: 0x39,
  // Letters
  KEY_A: 0x41,
  KEY_B: 0x42,
  KEY_C: 0x43,
  KEY_D: 0x44,
  KEY_E: 0x45,
  KEY_F: 0x46,
  KEY_G: 0x47,
  KEY_H: 0x48,
  KEY_I: 0x49,
  KEY_J: 0x4a,
  KEY_K: 0x4b,
  KEY_L: 0x4c,
  KEY_M: 0x4d,
  KEY_N: 0x4e,
  KEY_O: 0x4f,
  KEY_P: 0x50,
  KEY_Q: 0x51,
  KEY_R: 0x52,
  KEY_S: 0x53,
  KEY_T: 0x54,
  KEY_U: 0x55,
  KEY_V: 0x56,
  KEY_W: 0x57,
  KEY_X: 0x58,
  KEY_Y: 0x59,
  KEY_Z: 0x5a,
  // Windows keys
  LWIN: 0x5b,
  RWIN: 0x5c,
  APPS: 0x5d, // Context menu
  SLEEP: 0x5f,
  // Numeric keypad
  NUMPAD0: 0x60,
  NUMPAD1: 0x61,
  NUMPAD2: 0x62,
  NUMPAD3: 0x63,
  NUMPAD4: 0x64,
  NUMPAD5: 0x65,
  NUMPAD6: 0x66,
  NUMPAD7: 0x67,
  NUMPAD8: 0x68,
  NUMPAD9: 0x69,
  MULTIPLY: 0x6a,
  ADD: 0x6b,
  SEPARATOR: 0x6c,
  SUBTRACT: 0x6d,
  DECIMAL: 0x6e,
  DIVIDE: 0x6f,
  // Function keys
  F1: 0x70,
  F2: 0x71,
  F3: 0x72,
  F4: 0x73,
  F5: 0x74,
  F6: 0x75,
  F7: 0x76,
  F8: 0x77,
  F9: 0x78,
  F10: 0x79,
  F11: 0x7a,
  F12: 0x7b,
  F13: 0x7c,
  F14: 0x7d,
  F15: 0x7e,
  F16: 0x7f,
  F17: 0x80,
  F18: 0x81,
  F19: 0x82,
  F20: 0x83,
  F21: 0x84,
  F22: 0x85,
  F23: 0x86,
  F24: 0x87,
  // Locks
  NUMLOCK: 0x90,
  SCROLL: 0x91,
  // Left/right modifiers
  LSHIFT: 0xa0,
  RSHIFT: 0xa1,
  LCONTROL: 0xa2,
  RCONTROL: 0xa3,
  LMENU: 0xa4, // Left Alt
  RMENU: 0xa5, // Right Alt (AltGr)
  // Browser
  BROWSER_BACK: 0xa6,
  BROWSER_FORWARD: 0xa7,
  BROWSER_REFRESH: 0xa8,
  BROWSER_STOP: 0xa9,
  BROWSER_SEARCH: 0xaa,
  BROWSER_FAVORITES: 0xab,
  BROWSER_HOME: 0xac,
  // Volume and media
  VOLUME_MUTE: 0xad,
  VOLUME_DOWN: 0xae,
  VOLUME_UP: 0xaf,
  MEDIA_NEXT_TRACK: 0xb0,
  MEDIA_PREV_TRACK: 0xb1,
  MEDIA_STOP: 0xb2,
  MEDIA_PLAY_PAUSE: 0xb3,
  LAUNCH_MAIL: 0xb4,
  LAUNCH_MEDIA_SELECT: 0xb5,
  LAUNCH_APP1: 0xb6,
  LAUNCH_APP2: 0xb7,
  // OEM punctuation (US layout meaning in the comment; it varies by keyboard)
  OEM_1: 0xba, // ;:
  OEM_PLUS: 0xbb, // =+
  OEM_COMMA: 0xbc, // ,<
  OEM_MINUS: 0xbd, // -_
  OEM_PERIOD: 0xbe, // .>
  OEM_2: 0xbf, // /?
  OEM_3: 0xc0, // `~
  OEM_4: 0xdb, // [{
  OEM_5: 0xdc, // \|
  OEM_6: 0xdd, // ]}
  OEM_7: 0xde, // '"
  OEM_8: 0xdf,
  OEM_102: 0xe2, // <> or \| on the 102-key keyboard
  PROCESSKEY: 0xe5,
  PACKET: 0xe7, // Unicode character passed through VK_PACKET
  ATTN: 0xf6,
  CRSEL: 0xf7,
  EXSEL: 0xf8,
  EREOF: 0xf9,
  PLAY: 0xfa,
  ZOOM: 0xfb,
  NONAME: 0xfc,
  PA1: 0xfd,
  OEM_CLEAR: 0xfe,
} as const;

export type VirtualKeyName = keyof typeof VK;

/** Smallest and largest code a type-3 packet may sensibly carry (0x00 and 0xFF are not keys). */
export const VK_MIN = 0x01;
export const VK_MAX = 0xfe;

// First name wins for aliases (KANA/HANGUL, HANJA/KANJI).
const namesByCode = new Map<number, VirtualKeyName>();
for (const [name, code] of Object.entries(VK) as [VirtualKeyName, number][]) {
  if (!namesByCode.has(code)) namesByCode.set(code, name);
}

const hex = (code: number): string => `0x${code.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * A readable name for messages: `VK_RETURN`, `VK_A`, `VK_0`; an unassigned code as `0x07`.
 * Never throws, whatever number it is given.
 */
export function vkName(code: number): string {
  const name = namesByCode.get(code);
  if (name === undefined) return Number.isInteger(code) && code >= 0 ? hex(code) : String(code);
  return `VK_${name.startsWith('KEY_') ? name.slice(4) : name}`;
}

/**
 * The code for a name as Microsoft or vkName writes it, case-insensitive, with or without `VK_`:
 * `VK_RETURN`, `return`, `A`, `vk_a`, `KEY_A`, `0`. Undefined when unknown.
 */
export function vkCode(name: string): number | undefined {
  let key = name.trim().toUpperCase();
  if (key.startsWith('VK_')) key = key.slice(3);
  if (/^[A-Z0-9]$/.test(key)) key = `KEY_${key}`;
  return Object.hasOwn(VK, key) ? VK[key as VirtualKeyName] : undefined;
}

/** True when `code` is a named virtual key (an assigned entry of Microsoft's table above). */
export function isKnownVk(code: number): boolean {
  return namesByCode.has(code);
}

/**
 * The OEM keys by the character they type unshifted on a US layout (Microsoft's table names them by
 * it). Viewer and agent must agree on this: a viewer sends `;` as OEM_1, the agent types `;` for it.
 */
export const US_OEM_KEYS: Readonly<Record<string, number>> = {
  ';': VK.OEM_1,
  '=': VK.OEM_PLUS,
  ',': VK.OEM_COMMA,
  '-': VK.OEM_MINUS,
  '.': VK.OEM_PERIOD,
  '/': VK.OEM_2,
  '`': VK.OEM_3,
  '[': VK.OEM_4,
  '\\': VK.OEM_5,
  ']': VK.OEM_6,
  "'": VK.OEM_7,
};

/** Shifted characters of a US layout → the unshifted key (digit or OEM character) they are typed with. */
export const US_SHIFTED: Readonly<Record<string, string>> = {
  '!': '1',
  '@': '2',
  '#': '3',
  $: '4',
  '%': '5',
  '^': '6',
  '&': '7',
  '*': '8',
  '(': '9',
  ')': '0',
  _: '-',
  '+': '=',
  '{': '[',
  '}': ']',
  '|': '\\',
  ':': ';',
  '"': "'",
  '<': ',',
  '>': '.',
  '?': '/',
  '~': '`',
};

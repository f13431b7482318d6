// Splits raw terminal input (raw mode) into keys, SGR 1006 mouse reports, terminal replies and
// bracketed pastes. Sequences the terminal sends arrive whole in practice; a lone ESC at the end of
// a chunk is the Escape key. A paste (ESC[200~ … ESC[201~) may span many chunks: it is collected
// until its end marker and comes out as one event.

export interface KeyEvent {
  kind: 'key';
  /** 'a', 'A', '1', '!', ' ' for text; 'enter', 'tab', 'backspace', 'escape', 'up', 'f5', 'delete', ... */
  name: string;
  ctrl: boolean;
  alt: boolean;
  shift: boolean;
  /** The Super/Windows key (kitty/xterm modifier 8). */
  meta: boolean;
  /** The bytes this key arrived as. */
  raw: string;
}

export interface MouseEvent {
  kind: 'mouse';
  /** 0-based cell. */
  col: number;
  row: number;
  button: 'left' | 'middle' | 'right' | 'wheel-up' | 'wheel-down' | 'wheel-left' | 'wheel-right' | 'none';
  action: 'press' | 'release' | 'move';
  ctrl: boolean;
  alt: boolean;
  shift: boolean;
}

export interface ReplyEvent {
  kind: 'reply';
  /** A terminal answer to a query: DA1, kitty graphics, window/cell size, ... */
  text: string;
}

export interface PasteEvent {
  kind: 'paste';
  /** What was pasted, as the terminal sent it (without the markers). */
  text: string;
}

export type InputEvent = KeyEvent | MouseEvent | ReplyEvent | PasteEvent;

export const PASTE_START = '\x1b[200~';
export const PASTE_END = '\x1b[201~';

const CSI_TILDE: Record<number, string> = {
  1: 'home',
  2: 'insert',
  3: 'delete',
  4: 'end',
  5: 'pageup',
  6: 'pagedown',
  7: 'home',
  8: 'end',
  11: 'f1',
  12: 'f2',
  13: 'f3',
  14: 'f4',
  15: 'f5',
  17: 'f6',
  18: 'f7',
  19: 'f8',
  20: 'f9',
  21: 'f10',
  23: 'f11',
  24: 'f12',
};
const CSI_LETTER: Record<string, string> = {
  A: 'up',
  B: 'down',
  C: 'right',
  D: 'left',
  H: 'home',
  F: 'end',
  E: 'clear',
  P: 'f1',
  Q: 'f2',
  R: 'f3',
  S: 'f4',
  Z: 'tab',
};

function key(name: string, raw: string, mods: Partial<Pick<KeyEvent, 'ctrl' | 'alt' | 'shift' | 'meta'>> = {}): KeyEvent {
  return { kind: 'key', name, ctrl: false, alt: false, shift: false, meta: false, raw, ...mods };
}

/** xterm's modifier parameter: 1 + (shift 1 | alt 2 | ctrl 4 | meta 8). */
function modifiers(param: number | undefined) {
  const bits = Math.max(0, (param ?? 1) - 1);
  return { shift: !!(bits & 1), alt: !!(bits & 2), ctrl: !!(bits & 4), meta: !!(bits & 8) };
}

/** One byte (or UTF-8 character) outside an escape sequence. */
function plainKey(ch: string, raw = ch): KeyEvent {
  const code = ch.charCodeAt(0);
  if (ch === '\r' || ch === '\n') return key('enter', raw);
  if (ch === '\t') return key('tab', raw);
  if (code === 0x7f || code === 0x08) return key('backspace', raw);
  if (ch === '\x1b') return key('escape', raw);
  if (code === 0) return key(' ', raw, { ctrl: true });
  if (code < 0x1b) return key(String.fromCharCode(code + 0x60), raw, { ctrl: true });
  if (code < 0x20) return key(String.fromCharCode(code + 0x40), raw, { ctrl: true }); // \ ] ^ _
  return key(ch, raw, { shift: ch !== ch.toLowerCase() });
}

function sgrMouse(params: string, final: string): MouseEvent | undefined {
  const [b, x, y] = params.split(';').map(Number);
  if (b === undefined || x === undefined || y === undefined || [b, x, y].some((n) => !Number.isInteger(n))) return undefined;
  const motion = (b & 32) !== 0;
  const wheel = (b & 64) !== 0;
  const low = b & 3;
  let button: MouseEvent['button'];
  if (wheel) button = (['wheel-up', 'wheel-down', 'wheel-left', 'wheel-right'] as const)[low]!;
  else button = (['left', 'middle', 'right', 'none'] as const)[low]!;
  return {
    kind: 'mouse',
    col: Math.max(0, x - 1),
    row: Math.max(0, y - 1),
    button,
    action: motion ? 'move' : final === 'm' ? 'release' : 'press',
    shift: (b & 4) !== 0,
    alt: (b & 8) !== 0,
    ctrl: (b & 16) !== 0,
  };
}

function csi(params: string, final: string, raw: string): InputEvent | undefined {
  if (params.startsWith('<') && (final === 'M' || final === 'm')) return sgrMouse(params.slice(1), final);
  if (params.startsWith('?') || final === 't' || final === 'c') {
    return { kind: 'reply', text: raw };
  }
  const nums = params.split(';').map((p) => (p === '' ? undefined : Number(p)));
  if (final === '~') {
    const name = CSI_TILDE[nums[0] ?? 0];
    return name ? key(name, raw, modifiers(nums[1])) : undefined;
  }
  if (final === 'u' && nums[0] !== undefined) {
    // CSI codepoint ; modifiers u (fixterms / kitty keyboard)
    const mods = modifiers(nums[1]);
    const ch = String.fromCodePoint(nums[0]);
    const base = plainKey(ch, raw);
    return { ...base, ...mods, ctrl: mods.ctrl || base.ctrl, shift: mods.shift || base.shift };
  }
  const name = CSI_LETTER[final];
  if (!name) return undefined;
  if (final === 'Z') return key('tab', raw, { shift: true });
  return key(name, raw, modifiers(nums[1]));
}

export class TerminalInputParser {
  /** The paste being collected, from its start marker on. */
  private paste: string | undefined;

  parse(chunk: string): InputEvent[] {
    const events: InputEvent[] = [];
    let rest = chunk;
    for (;;) {
      if (this.paste !== undefined) {
        // The end marker may have been cut between chunks: look a marker's length back.
        const from = Math.max(0, this.paste.length - PASTE_END.length);
        const joined = this.paste + rest;
        const end = joined.indexOf(PASTE_END, from);
        if (end < 0) {
          this.paste = joined;
          return events;
        }
        events.push({ kind: 'paste', text: joined.slice(0, end) });
        this.paste = undefined;
        rest = joined.slice(end + PASTE_END.length);
        continue;
      }
      const start = rest.indexOf(PASTE_START);
      if (start < 0) return events.concat(this.parseKeys(rest));
      events.push(...this.parseKeys(rest.slice(0, start)));
      this.paste = '';
      rest = rest.slice(start + PASTE_START.length);
    }
  }

  /** Pasted text as the keys that type it: characters, Enter and Tab; other control characters are dropped. */
  static typedKeys(text: string): KeyEvent[] {
    const keys: KeyEvent[] = [];
    const typable = text.replace(/\r\n/g, '\r').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
    for (const ch of typable) keys.push(plainKey(ch));
    return keys;
  }

  private parseKeys(chunk: string): InputEvent[] {
    const events: InputEvent[] = [];
    let i = 0;
    const push = (e: InputEvent | undefined) => e && events.push(e);
    while (i < chunk.length) {
      const ch = chunk[i]!;
      if (ch !== '\x1b') {
        const cp = chunk.codePointAt(i)!;
        const text = String.fromCodePoint(cp);
        push(plainKey(text));
        i += text.length;
        continue;
      }
      const next = chunk[i + 1];
      if (next === undefined) {
        push(key('escape', ch));
        i++;
      } else if (next === '[') {
        const m = /^\x1b\[([<?>=]?[\d;:]*)([\x20-\x2f]*)([\x40-\x7e])/.exec(chunk.slice(i));
        if (!m) {
          push(key('[', '\x1b[', { alt: true }));
          i += 2;
          continue;
        }
        push(csi(m[1]!.replace(/:/g, ';'), m[3]!, m[0]));
        i += m[0].length;
      } else if (next === 'O') {
        const final = chunk[i + 2];
        if (final === undefined) {
          push(key('O', '\x1bO', { alt: true, shift: true }));
          i += 2;
          continue;
        }
        const name = CSI_LETTER[final];
        push(name ? key(name, chunk.slice(i, i + 3)) : undefined);
        i += 3;
      } else if (next === '_' || next === 'P' || next === ']') {
        // APC / DCS / OSC reply, ended by ST (ESC \) or BEL.
        const rest = chunk.slice(i);
        const end = rest.search(/\x1b\\|\x07/);
        const length = end < 0 ? rest.length : end + (rest[end] === '\x07' ? 1 : 2);
        push({ kind: 'reply', text: rest.slice(0, length) });
        i += length;
      } else {
        // ESC + key = Alt + key.
        const cp = chunk.codePointAt(i + 1)!;
        const text = String.fromCodePoint(cp);
        const base = plainKey(text, '\x1b' + text);
        push({ ...base, alt: true });
        i += 1 + text.length;
      }
    }
    return events;
  }
}

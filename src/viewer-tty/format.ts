// Small formatting helpers shared by the viewer's components.
import { isSessionCode } from '../protocol/session-code.js';

/** "482916573" → "482 916 573" (easier to read aloud to a customer). */
export function groupCode(code: string): string {
  return isSessionCode(code) ? `${code.slice(0, 3)} ${code.slice(3, 6)} ${code.slice(6)}` : code;
}

/** Age of an ISO timestamp (the broker's are UTC, sometimes without a zone): "45s", "12m", "3h", "2d". */
export function formatAge(createdAt: string, now: number): string {
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(createdAt) ? createdAt : `${createdAt}Z`;
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '?';
  const s = Math.max(0, Math.floor((now - then) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const DIGITS: Record<string, string[]> = {
  '0': ['███', '█ █', '█ █', '█ █', '███'],
  '1': [' █ ', '██ ', ' █ ', ' █ ', '███'],
  '2': ['███', '  █', '███', '█  ', '███'],
  '3': ['███', '  █', ' ██', '  █', '███'],
  '4': ['█ █', '█ █', '███', '  █', '  █'],
  '5': ['███', '█  ', '███', '  █', '███'],
  '6': ['███', '█  ', '███', '█ █', '███'],
  '7': ['███', '  █', ' █ ', ' █ ', ' █ '],
  '8': ['███', '█ █', '███', '█ █', '███'],
  '9': ['███', '█ █', '███', '  █', '███'],
  ' ': ['   ', '   ', '   ', '   ', '   '],
};

/** A code in 5-row block digits, for reading it out to the customer. */
export function bigText(text: string): string[] {
  const rows = ['', '', '', '', ''];
  for (const ch of text) {
    const glyph = DIGITS[ch] ?? DIGITS[' ']!;
    for (let r = 0; r < 5; r++) rows[r] += `${glyph[r]} `;
  }
  return rows.map((r) => r.trimEnd());
}

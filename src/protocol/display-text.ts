// Text that came from another party (a user's name, a customer's email, a reason a broker gave) is
// made safe before it reaches a terminal: C0 and C1 control characters, DEL and the Unicode bidi
// controls become visible escapes (\x1b, \u202e), so nobody can move the cursor, recolour, clear
// or visually reorder what the person at the terminal is asked to read.

// C0 (incl. ESC, CR, LF, TAB), DEL, C1, and the bidi embeddings, overrides and isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escape = (char: string): string => {
  const code = char.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `text` with every control character replaced by a visible escape; cut to `maxChars` (with …). */
export function terminalSafe(text: string, maxChars = 512): string {
  const safe = text.replace(UNSAFE, escape);
  return safe.length > maxChars ? `${safe.slice(0, maxChars - 1)}…` : safe;
}

// Session codes: the nine digits a customer reads to the IT member and types into `rac agent --code`,
// and the {code} of /api/sessions/{code}/info and /ws/session/{code}.

export const SESSION_CODE_DIGITS = 9;

/** Exactly nine ASCII digits (leading zeros included). */
export function isSessionCode(text: string): boolean {
  return /^[0-9]{9}$/.test(text);
}

/** A code as people write it ("482 916 573", "482-916-573") → the digits alone; anything else is left as it is. */
export function compactSessionCode(text: string): string {
  return text.replace(/[\s-]/g, '');
}

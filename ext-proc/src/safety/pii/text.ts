/*
 * Character tests the detectors share. A value only counts when it stands on its own: glued to
 * a letter or a digit it is part of something else (a product code, a longer number, a word).
 */

/** A letter (any script), a digit or `_`. */
export function isWordChar(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  const c = ch.charCodeAt(0);
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  return /[\p{L}\p{N}]/u.test(ch);
}

export function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/** The value at [start, end) is not glued to a word or continued by another number (`.5`, `-3`). */
export function standsAlone(text: string, start: number, end: number): boolean {
  if (isWordChar(text[start - 1]) || isWordChar(text[end])) return false;
  const after = text[end];
  if ((after === '.' || after === ',' || after === '-') && isDigit(text[end + 1])) return false;
  const before = text[start - 1];
  if ((before === '.' || before === '-') && isDigit(text[start - 2])) return false;
  return true;
}

/** Only the digits of `s`. */
export function digitsOf(s: string): string {
  return s.replace(/\D+/g, '');
}

/** The `width` characters before `start`, for the cue words some detectors need. */
export function before(text: string, start: number, width: number): string {
  return text.slice(Math.max(0, start - width), start);
}

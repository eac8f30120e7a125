import { spanishControlLetter } from './checksums.js';
import type { Span } from './scan.js';
import { isWordChar } from './text.js';
import type { Finding } from './types.js';

/** DNI: 8 digits (or 2.3.3 with dots), then the control letter, maybe after a dash or space. */
const DNI_NUMBER = /^(?:\d{8}|\d{2}\.\d{3}\.\d{3})$/;
/** NIE: X, Y or Z, 7 digits, the control letter; dashes or spaces allowed between the three. */
const NIE_NUMBER = /^\d{7}$/;

/** A Spanish national identity number (DNI) whose control letter is right. */
export function dniAt(text: string, s: Span): Finding | undefined {
  if (s.digits.length !== 8 || !DNI_NUMBER.test(s.text) || notFree(text[s.start - 1])) return undefined;
  const letterAt = letterAfter(text, s.end);
  if (letterAt === -1 || spanishControlLetter(Number(s.digits)) !== text[letterAt]!.toUpperCase()) return undefined;
  return { type: 'dni', start: s.start, end: letterAt + 1 };
}

/** A Spanish foreigner identity number (NIE) whose control letter is right. */
export function nieAt(text: string, s: Span): Finding | undefined {
  if (s.digits.length !== 7 || !NIE_NUMBER.test(s.text)) return undefined;
  let start = s.start - 1;
  if (text[start] === ' ' || text[start] === '-') start--;
  const prefix = 'XYZ'.indexOf((text[start] ?? '').toUpperCase());
  if (prefix === -1 || notFree(text[start - 1])) return undefined;
  const letterAt = letterAfter(text, s.end);
  if (letterAt === -1 || spanishControlLetter(Number(`${prefix}${s.digits}`)) !== text[letterAt]!.toUpperCase()) return undefined;
  return { type: 'nie', start, end: letterAt + 1 };
}

/** Where the control letter after the number is (a dash or space may come first), or -1. */
function letterAfter(text: string, end: number): number {
  const at = text[end] === ' ' || text[end] === '-' ? end + 1 : end;
  const ch = text[at];
  if (ch === undefined || !/[A-Za-z]/.test(ch) || isWordChar(text[at + 1])) return -1;
  return at;
}

/** Glued to a word or another number. */
function notFree(before: string | undefined): boolean {
  return isWordChar(before) || before === '.' || before === '-';
}

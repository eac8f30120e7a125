import type { Span } from './scan.js';
import { before, digitsOf, isDigit, isWordChar } from './text.js';
import type { Finding } from './types.js';

/*
 * Phone numbers are digits like any others, so only shapes people use for phones count:
 * - international: `+` (or `00` for Spain and the US) and a country code, then digit groups with
 *   single spaces, dots, dashes or a bracketed area code; 8 to 15 digits in all (E.164);
 * - Spanish: 9 digits starting 6–9, written 3-3-3, 3-2-2-2 or 2-3-2-2 with one kind of separator;
 * - US: `(415) 555-2671`, `415-555-2671`, `415.555.2671`, `415 555 2671`, maybe after `1-`.
 * Nine or ten digits run together are a phone only after a word that says so ("tel", "móvil",
 * "call me at"), since order numbers look the same. Years, prices, versions and dates are too
 * short or have other groupings; amounts followed by a currency are left alone.
 */

/** `+` (or `(+`, or `00`) and a country code: checked by internationalValid. */
const INTERNATIONAL = /^(?:\(?\+|00)/;
const SPANISH = /^(?:[6-9]\d{2}([ .-])\d{3}\1\d{3}|[6-9]\d{2}([ .-])\d{2}\2\d{2}\2\d{2}|[89]\d([ .-])\d{3}\3\d{2}\3\d{2})$/;
const US = /^(?:1[ .-]?)?(?:\([2-9]\d{2}\) ?[2-9]\d{2}[ .-]\d{4}|[2-9]\d{2}([ .-])[2-9]\d{2}\1\d{4})$/;
const COMPACT = /^(?:[6-9]\d{8}|1?[2-9]\d{2}[2-9]\d{6})$/;

const PHONE_CUE =
  /(?<!\p{L})(?:tel[eé]?f?o?n?o?|tlf|tfno|phone|mobile|m[oó]vil|cell(?:phone)?|celular|ll[aá]m[ae]\w*|call(?:ed|ing)?|sms|whats\s?app|fax|contact(?:o|ar)?)\b\W*(?:[\p{L}]+\W+){0,3}$/iu;
const OTHER_NUMBER_CUE =
  /(?<!\p{L})(?:order|pedido|invoice|factura|ref(?:erence|erencia)?|id|account|cuenta|code|c[oó]digo|ticket|n[º°o]\.?|#)\W*(?:[\p{L}]+\W+){0,2}$/iu;
/** Amounts: a currency or unit right after the digits, or a currency sign before them. */
const AMOUNT_AFTER = /^\s?(?:[€$£%]|(?:eur|euros?|usd|dollars?|d[oó]lares|units?|unidades|km|kg|veces|times|points|puntos|habitantes|people|personas)\b)/i;
const AMOUNT_BEFORE = /[€$£]\s?$/;

/** A phone number in one of the shapes above, standing alone and not an amount. */
export function phoneAt(text: string, s: Span): Finding | undefined {
  if (s.digits.length < 9 || s.digits.length > 17) return undefined;
  if (!isolated(text, s.start, s.end) || amount(text, s.start, s.end)) return undefined;
  let ok: boolean;
  if (INTERNATIONAL.test(s.text)) ok = internationalValid(s.text);
  else if (SPANISH.test(s.text)) ok = !roundNumber(s.digits);
  else if (US.test(s.text)) ok = true;
  else ok = COMPACT.test(s.text) && cued(before(text, s.start, 40));
  return ok ? { type: 'phone', start: s.start, end: s.end } : undefined;
}

function amount(text: string, start: number, end: number): boolean {
  return AMOUNT_AFTER.test(text.slice(end, end + 12)) || AMOUNT_BEFORE.test(before(text, start, 2));
}

/** Not glued to letters or digits, and not the middle of a longer dotted or dashed number. */
function isolated(text: string, start: number, end: number): boolean {
  const prev = text[start - 1];
  if (isWordChar(prev)) return false;
  if ((prev === '.' || prev === '-' || prev === '/') && isDigit(text[start - 2])) return false;
  const next = text[end];
  if (isWordChar(next)) return false;
  if ((next === '.' || next === '-' || next === ',' || next === '/') && isDigit(text[end + 1])) return false;
  return true;
}

/** The closest cue before the number says "phone", not "order number". */
function cued(window: string): boolean {
  const phone = PHONE_CUE.exec(window);
  if (!phone) return false;
  const other = OTHER_NUMBER_CUE.exec(window);
  return !other || other.index < phone.index;
}

/** Country codes checked strictly: the number after them must be a valid national one. */
function internationalValid(raw: string): boolean {
  if (!separatorsSane(raw)) return false;
  const digits = raw.startsWith('00') ? digitsOf(raw).slice(2) : digitsOf(raw);
  if (digits.length < 8 || digits.length > 15) return false;
  if (digits.startsWith('34')) return /^[6-9]\d{8}$/.test(digits.slice(2));
  if (digits.startsWith('1')) return /^[2-9]\d{2}[2-9]\d{6}$/.test(digits.slice(1));
  // `00` is only taken for the two countries checked strictly above; elsewhere fewer than nine
  // digits is more often a signed quantity or a date (`+2024-01-15`) than a phone.
  return !raw.startsWith('00') && digits.length >= 9;
}

/** No doubled separators, brackets in pairs. */
function separatorsSane(raw: string): boolean {
  if (/[ .-]{2}/.test(raw)) return false;
  const open = raw.split('(').length;
  return open === raw.split(')').length && open <= 2;
}

/** `700 000 000` is a quantity: real numbers do not end in six zeros. */
function roundNumber(digits: string): boolean {
  return /0{6}$/.test(digits);
}

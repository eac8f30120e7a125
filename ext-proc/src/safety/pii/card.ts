import { luhnValid } from './checksums.js';
import type { Span } from './scan.js';
import { standsAlone } from './text.js';
import type { Finding } from './types.js';

/**
 * 13 to 19 digits, single spaces or dashes allowed between them (`4111 1111 1111 1111`,
 * `3782-822463-10005`). The first digit is 2–6, the issuers of payment cards (Mastercard 2/5,
 * Amex/Diners/JCB 3, Visa 4, Discover/UnionPay/Maestro 6): millisecond timestamps (1…) and most
 * internal ids then stay out even when their last digit happens to satisfy Luhn.
 */
const SHAPE = /^[2-6][\d -]*\d$/;
/**
 * Printed the way cards are (4-4-4-4 and up to three more, Amex 4-6-5, Diners 4-6-4): the only
 * shape taken when other numbers stand next to it, `+34 612 345 678 4111 1111 1111 1111`, where
 * any 16 of the digits in a row would pass Luhn one time in ten.
 */
const GROUPED = /^[2-6](?:\d{3}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{3}([ -])\d{6}\2\d{4,5})$/;

/** Another group of four next to a grouped candidate: the grouping goes on, so which 16 digits are the card? */
const FOUR_BEFORE = /(?:^|\D)\d{4}[ -]$/;
const FOUR_AFTER = /^[ -]\d{4}(?:\D|$)/;

/** A card number that passes Luhn: a number on its own, or one printed as a card among others. */
export function cardAt(text: string, s: Span): Finding | undefined {
  if (s.digits.length < 13 || s.digits.length > 19) return undefined;
  if (!(s.whole ? SHAPE : GROUPED).test(s.text) || !standsAlone(text, s.start, s.end)) return undefined;
  if (!s.whole && (FOUR_BEFORE.test(text.slice(Math.max(0, s.start - 6), s.start)) || FOUR_AFTER.test(text.slice(s.end, s.end + 6)))) return undefined;
  return luhnValid(s.digits) ? { type: 'card', start: s.start, end: s.end } : undefined;
}

import type { Span } from './scan.js';
import { before, isDigit, isWordChar } from './text.js';
import type { Finding } from './types.js';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** Dotted numbers right after these words are versions or section numbers, not addresses. */
const NOT_AN_ADDRESS = /(?:\bv|\bver(?:sion|si[oó]n)?\.?|\brelease|\bbuild|\bsection|\bsecci[oó]n|\bchapter|\bcap[ií]tulo|§)\s*$/i;

/** A dotted quad standing alone: not part of a longer dotted number (`1.2.3.4.5`) nor of a word (`v1.2.3.4`). */
export function ipv4At(text: string, s: Span): Finding | undefined {
  if (!IPV4.test(s.text) || isWordChar(text[s.start - 1]) || isWordChar(text[s.end])) return undefined;
  if (text[s.start - 1] === '.' || (text[s.end] === '.' && isDigit(text[s.end + 1]))) return undefined;
  if (NOT_AN_ADDRESS.test(before(text, s.start, 12))) return undefined;
  return { type: 'ip', start: s.start, end: s.end };
}

const IPV6_CHAR = /[0-9A-Fa-f:.]/;

/**
 * IPv6, found around each colon and checked by its grammar: eight groups, or fewer with one
 * `::`, an IPv4 tail allowed. Clock times and MAC addresses fail the grammar; `a::b` and
 * `dead::beef` pass it but are words and C++ scopes far more often than addresses, so an address
 * needs a digit.
 */
export function findIpv6(text: string): Finding[] {
  const out: Finding[] = [];
  let from = 0;
  for (let colon = text.indexOf(':'); colon !== -1; colon = text.indexOf(':', from)) {
    let start = colon;
    while (start > 0 && IPV6_CHAR.test(text[start - 1]!)) start--;
    let end = colon + 1;
    while (end < text.length && IPV6_CHAR.test(text[end]!)) end++;
    from = end;
    // Sentence punctuation after the address, a port's colon without digits.
    while (end > start && (text[end - 1] === '.' || (text[end - 1] === ':' && text[end - 2] !== ':'))) end--;
    while (start < end && text[start] === '.') start++;
    if (isWordChar(text[start - 1]) || isWordChar(text[end])) continue;
    if (isIpv6(text.slice(start, end))) out.push({ type: 'ip', start, end });
  }
  return out;
}

const GROUP = /^[0-9A-Fa-f]{1,4}$/;

export function isIpv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  let count = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (GROUP.test(g)) count += 1;
    else if (i === groups.length - 1 && IPV4.test(g)) count += 2;
    else return false;
  }
  const compressed = halves.length === 2;
  if (compressed ? count > 7 : count !== 8) return false;
  return groups.length >= 1 && /\d/.test(s);
}

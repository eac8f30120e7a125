import type { Span } from './scan.js';
import { before, standsAlone } from './text.js';
import type { Finding } from './types.js';

/** `123-45-6789` or `123 45 6789`: the same separator twice. */
const GROUPED = /^\d{3}([- ])\d{2}\1\d{4}$/;
/** Nine digits run together are an SSN only where the text says so. */
const COMPACT = /^\d{9}$/;
const CUE = /\b(?:ssn|social security(?: number| no\.?)?|seguro social)\b[^\n]{0,20}$/i;

/** Numbers the SSA never issues, or has retired after they were printed as samples. */
const RETIRED = new Set(['078051120', '219099999', '123456789']);

/** A US Social Security number that follows the SSA's rules: no area 000, 666 or 9xx, no group 00, no serial 0000. */
export function ssnAt(text: string, s: Span): Finding | undefined {
  if (s.digits.length !== 9 || !valid(s.digits) || !standsAlone(text, s.start, s.end)) return undefined;
  const shaped = GROUPED.test(s.text) || (COMPACT.test(s.text) && CUE.test(before(text, s.start, 40)));
  return shaped ? { type: 'ssn', start: s.start, end: s.end } : undefined;
}

function valid(d: string): boolean {
  const area = d.slice(0, 3);
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (d.slice(3, 5) === '00' || d.slice(5) === '0000') return false;
  return !RETIRED.has(d);
}

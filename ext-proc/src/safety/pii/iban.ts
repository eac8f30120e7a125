import { ibanChecksumValid } from './checksums.js';
import type { Cluster } from './scan.js';
import { isWordChar } from './text.js';
import type { Finding } from './types.js';

/** IBAN length by country (ISO 13616 registry): a candidate must have exactly its country's length. */
const LENGTHS: ReadonlyMap<string, number> = new Map(
  [
    'AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22',
    'DK18 DO28 EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28',
    'IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24',
    'ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31',
    'SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20',
  ]
    .join(' ')
    .split(' ')
    .map((e) => [e.slice(0, 2), Number(e.slice(2))] as const),
);

/**
 * An IBAN starting just before the cluster `c` (its country code, then the cluster's check
 * digits), compact or in groups separated by single spaces (`ES91 2100 0418 4502 0005 1332`):
 * the country's length read exactly, then the mod-97 check.
 */
export function ibanAt(text: string, c: Cluster): Finding | undefined {
  const [first, firstEnd] = c.groups[0]!;
  if (c.start !== first || firstEnd - first < 2) return undefined;
  const start = first - 2;
  if (start < 0 || !isUpper(text[start]) || !isUpper(text[start + 1]) || isAlnum(text[start - 1])) return undefined;
  const length = LENGTHS.get(text.slice(start, first));
  if (length === undefined) return undefined;
  const read = readCompact(text, start, length);
  if (!read || !ibanChecksumValid(read.compact)) return undefined;
  return { type: 'iban', start, end: read.end };
}

/** Exactly `length` letters and digits from `start`, skipping single spaces; undefined if the text says otherwise. */
function readCompact(text: string, start: number, length: number): { compact: string; end: number } | undefined {
  let compact = '';
  let i = start;
  while (compact.length < length) {
    const ch = text[i];
    if (ch === ' ' && compact.length > 0 && isAlnumUpper(text[i + 1])) {
      i++;
      continue;
    }
    if (!isAlnumUpper(ch)) return undefined;
    compact += ch;
    i++;
  }
  // Glued to more characters it is a longer code, not this IBAN.
  if (isWordChar(text[i])) return undefined;
  return { compact, end: i };
}

function isUpper(ch: string | undefined): boolean {
  return ch !== undefined && ch >= 'A' && ch <= 'Z';
}

function isAlnum(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9]/.test(ch);
}

function isAlnumUpper(ch: string | undefined): boolean {
  return ch !== undefined && ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z'));
}

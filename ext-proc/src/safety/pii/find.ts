import { cardAt } from './card.js';
import { findEmails } from './email.js';
import { ibanAt } from './iban.js';
import { findIpv6, ipv4At } from './ip.js';
import { phoneAt } from './phone.js';
import { digitClusters, type Span, spansOf } from './scan.js';
import { dniAt, nieAt } from './spanish-id.js';
import { ssnAt } from './ssn.js';
import type { Finding, PiiType } from './types.js';

/**
 * When two detectors claim the same characters, the one whose format is stricter wins: an
 * e-mail may hold digits that look like a phone, an IBAN's digits may pass Luhn, and a checked
 * identifier says more than a phone's shape.
 */
const PRIORITY: readonly PiiType[] = ['email', 'iban', 'card', 'ssn', 'dni', 'nie', 'ip', 'phone'];

/** Detectors that judge one candidate number (each checks its own digit count first). */
const NUMERIC: ReadonlyArray<(text: string, s: Span) => Finding | undefined> = [cardAt, ssnAt, dniAt, nieAt, ipv4At, phoneAt];
/** The fewest and most digits any numeric detector takes (`1.1.1.1`, a 19-digit card). */
const MIN_DIGITS = 4;
const MAX_DIGITS = 19;

/** Every value in `text`, in text order, none overlapping another. */
export function findPii(text: string): Finding[] {
  const found: Finding[] = [];
  if (text.includes('@')) found.push(...findEmails(text));
  if (text.includes(':')) found.push(...findIpv6(text));
  for (const c of digitClusters(text)) {
    const iban = ibanAt(text, c);
    if (iban) found.push(iban);
    for (const span of spansOf(text, c, MIN_DIGITS, MAX_DIGITS)) {
      for (const at of NUMERIC) {
        const f = at(text, span);
        if (f) found.push(f);
      }
    }
  }
  if (found.length <= 1) return found;
  found.sort((a, b) => rank(a) - rank(b) || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept: Finding[] = [];
  for (const f of found) if (!kept.some((k) => f.start < k.end && k.start < f.end)) kept.push(f);
  return kept.sort((a, b) => a.start - b.start);
}

function rank(f: Finding): number {
  return PRIORITY.indexOf(f.type);
}

/*
 * One pass over the text that finds where numbers are. Every numeric detector (phone, card, SSN,
 * DNI, NIE, IPv4, IBAN) then looks only there: running each detector's regex over the whole
 * prompt costs a few nanoseconds per character each, and most of a prompt is words.
 *
 * A cluster is digit runs ("groups") joined by what people put between the groups of one
 * number: one space, dot or dash, maybe with a bracket (`(415) 555-2671`, `+44 (0)20 7946`),
 * with an optional `+` before the first group, or a `(` when the first group is closed by `)`.
 */

export interface Cluster {
  /** Where the cluster starts, its `+` or `(` included. */
  start: number;
  /** The end of its last digit run. */
  end: number;
  /** [start, end) of each digit run. */
  groups: Array<[number, number]>;
}

/** A run of whole groups of a cluster: a candidate value. */
export interface Span {
  start: number;
  end: number;
  /** `text.slice(start, end)`. */
  text: string;
  /** Only its digits. */
  digits: string;
  /** It is the whole cluster (nothing joined on either side). */
  whole: boolean;
}

const isDigitCode = (c: number) => c >= 48 && c <= 57;
const PLUS = 43;
const OPEN = 40;
const CLOSE = 41;
const SPACE = 32;
const DOT = 46;
const DASH = 45;

/**
 * The clusters of `text` that could hold a value: seven digits or more (the shortest checked
 * number is a NIE's), four groups (a dotted quad), or two capitals before them (an IBAN).
 * Years, prices and counts, most of the digits in a prompt, are passed over without allocating.
 */
export function digitClusters(text: string): Cluster[] {
  const out: Cluster[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) {
      i++;
      continue;
    }
    let digits = 0;
    let groups = 0;
    let firstEnd = -1;
    let end = i;
    for (let at = i; at !== -1; at = joinerEnd(text, end)) {
      end = at;
      while (end < n && isDigitCode(text.charCodeAt(end))) end++;
      if (firstEnd === -1) firstEnd = end;
      digits += end - at;
      groups++;
    }
    if (digits >= 7 || groups >= 4 || (firstEnd - i >= 2 && isUpperCode(text.charCodeAt(i - 1)) && isUpperCode(text.charCodeAt(i - 2)))) {
      out.push(cluster(text, i, end));
    }
    i = end;
  }
  return out;
}

/** The cluster from its first digit to `end`, read again into groups (only for the few worth it). */
function cluster(text: string, first: number, end: number): Cluster {
  const groups: Array<[number, number]> = [];
  for (let at = first; at !== -1; at = joinerEnd(text, groups[groups.length - 1]![1])) {
    let g = at;
    while (g < end && isDigitCode(text.charCodeAt(g))) g++;
    groups.push([at, g]);
    if (g >= end) break;
  }
  let start = first;
  if (text.charCodeAt(start - 1) === PLUS) start--;
  // An area or country code in brackets, `(415) 555…`, `(+34) 612…`; not a whole number in them.
  if (text.charCodeAt(start - 1) === OPEN && text.charCodeAt(groups[0]![1]) === CLOSE) start--;
  return { start, end, groups };
}

const isUpperCode = (c: number) => c >= 65 && c <= 90;

/**
 * If a joiner starts at `at` and a digit follows it, where that digit is; else -1. A joiner is
 * `)`, one of space/dot/dash, `(`, in that order, each optional, at least one of them.
 */
function joinerEnd(text: string, at: number): number {
  let j = at;
  if (text.charCodeAt(j) === CLOSE) j++;
  const c = text.charCodeAt(j);
  if (c === SPACE || c === DOT || c === DASH) j++;
  if (text.charCodeAt(j) === OPEN) j++;
  if (j === at) return -1;
  return isDigitCode(text.charCodeAt(j)) ? j : -1;
}

/** The joiner between group k and group k + 1 is a single space: the groups may be two values. */
function spaceAfter(text: string, c: Cluster, k: number): boolean {
  const end = c.groups[k]![1];
  return text.charCodeAt(end) === SPACE && c.groups[k + 1]![0] === end + 1;
}

/**
 * The candidate values of a cluster with `minDigits`..`maxDigits` digits: runs of whole groups,
 * split only where a single space joins two groups (`… 1111 2025`); a run from the first group
 * keeps the cluster's `+` or `(`.
 */
export function spansOf(text: string, c: Cluster, minDigits: number, maxDigits: number): Span[] {
  const out: Span[] = [];
  const last = c.groups.length - 1;
  for (let i = 0; i <= last; i++) {
    if (i > 0 && !spaceAfter(text, c, i - 1)) continue;
    let count = 0;
    for (let j = i; j <= last; j++) {
      const [gs, ge] = c.groups[j]!;
      count += ge - gs;
      if (count > maxDigits) break;
      if (count < minDigits || (j < last && !spaceAfter(text, c, j))) continue;
      const start = i === 0 ? c.start : c.groups[i]![0];
      const spanText = text.slice(start, ge);
      out.push({ start, end: ge, text: spanText, digits: spanText.replace(NON_DIGITS, ''), whole: i === 0 && j === last });
    }
  }
  return out;
}

const NON_DIGITS = /\D+/g;

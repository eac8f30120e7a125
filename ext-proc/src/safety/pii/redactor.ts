import { findPii } from './find.js';
import { type Counts, type Finding, PLACEHOLDER_LABEL, type PiiType } from './types.js';

/**
 * One call's redaction: each value found becomes `<TYPE_n>`, numbered per type in the order the
 * values first appear, and the same value (however it is spaced or cased) keeps its placeholder
 * everywhere in the call. It remembers the way back for restoring the answer, and counts.
 */
export class Redactor {
  /** Placeholder → the value as first written, for restoring answers. */
  readonly originals = new Map<string, string>();
  readonly counts: Counts = {};
  private readonly placeholders = new Map<string, string>();
  private readonly used: Partial<Record<PiiType, number>> = {};
  /**
   * Texts already redacted in this call, by length. The caller's body holds the same strings the
   * canonical form was made of: the second look at them costs a comparison, not another scan.
   * (Keyed by length, not by the text: a Map would hash every prompt in full.)
   */
  private readonly done = new Map<number, Array<[string, string]>>();

  /** Total occurrences counted. */
  get found(): number {
    let n = 0;
    for (const c of Object.values(this.counts)) n += c;
    return n;
  }

  /**
   * `text` with every value replaced. `countRepeats: false` counts only values not seen before
   * in this call (a second look at text already counted elsewhere).
   */
  redact(text: string, countRepeats = true): string {
    if (!countRepeats) {
      const seen = this.done.get(text.length)?.find(([t]) => t === text);
      if (seen) return seen[1];
    }
    const found = findPii(text);
    let out = found.length === 0 ? text : '';
    let at = 0;
    for (const f of found) {
      out += text.slice(at, f.start) + this.placeholderFor(f, text.slice(f.start, f.end), countRepeats);
      at = f.end;
    }
    if (found.length > 0) out += text.slice(at);
    const bucket = this.done.get(text.length);
    if (bucket) bucket.push([text, out]);
    else this.done.set(text.length, [[text, out]]);
    return out;
  }

  private placeholderFor(f: Finding, value: string, countRepeats: boolean): string {
    const key = `${f.type}:${normalise(f.type, value)}`;
    let placeholder = this.placeholders.get(key);
    const fresh = placeholder === undefined;
    if (placeholder === undefined) {
      const n = (this.used[f.type] ?? 0) + 1;
      this.used[f.type] = n;
      placeholder = `<${PLACEHOLDER_LABEL[f.type]}_${n}>`;
      this.placeholders.set(key, placeholder);
      this.originals.set(placeholder, value);
    }
    if (fresh || countRepeats) this.counts[f.type] = (this.counts[f.type] ?? 0) + 1;
    return placeholder;
  }
}

/** Counts by type of the values in `text`, nothing replaced (detect mode). */
export function countPii(text: string, into: Counts): void {
  for (const f of findPii(text)) into[f.type] = (into[f.type] ?? 0) + 1;
}

/** The same value written differently: `ES91 2100…` and `ES912100…`, `Ana@X.com` and `ana@x.com`. */
function normalise(type: PiiType, value: string): string {
  if (type === 'email' || type === 'ip') return value.toLowerCase();
  return value.replace(/[\s.()-]+/g, '').toUpperCase();
}

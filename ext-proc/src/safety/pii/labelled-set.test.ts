import { describe, expect, it } from 'vitest';
import { findPii } from './find.js';
import { LABELLED_SET } from './labelled-set.js';
import { PII_TYPES, type PiiType } from './types.js';

interface Score {
  tp: number;
  fp: number;
  fn: number;
  /** True positives whose span is exactly the label's. */
  exact: number;
}

/**
 * A found value is right when a labelled value of the same type overlaps it (a phone found
 * without its bracketed country code still hides the number). Each label is matched once.
 */
function score(): { byType: Record<PiiType, Score>; misses: string[] } {
  const byType = Object.fromEntries(PII_TYPES.map((t) => [t, { tp: 0, fp: 0, fn: 0, exact: 0 }])) as Record<PiiType, Score>;
  const misses: string[] = [];
  for (const { text, pii } of LABELLED_SET) {
    const labels = pii.map(([type, value]) => {
      const start = text.indexOf(value);
      if (start === -1) throw new Error(`label "${value}" is not in "${text}"`);
      return { type, start, end: start + value.length, matched: false };
    });
    for (const f of findPii(text)) {
      const label = labels.find((l) => !l.matched && l.type === f.type && f.start < l.end && l.start < f.end);
      if (label) {
        label.matched = true;
        byType[f.type].tp++;
        if (label.start === f.start && label.end === f.end) byType[f.type].exact++;
      } else {
        byType[f.type].fp++;
        misses.push(`FP ${f.type}: ${text.slice(f.start, f.end)}  ← ${text}`);
      }
    }
    for (const l of labels.filter((x) => !x.matched)) {
      byType[l.type].fn++;
      misses.push(`FN ${l.type}: ${text.slice(l.start, l.end)}  ← ${text}`);
    }
  }
  return { byType, misses };
}

const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);

describe('detectors on the labelled set (labelled-set.ts)', () => {
  it('precision and recall per type (printed), and overall above the floor', () => {
    const { byType, misses } = score();
    const rows = PII_TYPES.map((t) => {
      const s = byType[t];
      return `${t.padEnd(6)} labelled ${String(s.tp + s.fn).padStart(3)}  tp ${String(s.tp).padStart(3)}  fp ${String(s.fp).padStart(2)}  fn ${String(s.fn).padStart(2)}  precision ${ratio(s.tp, s.tp + s.fp).toFixed(3)}  recall ${ratio(s.tp, s.tp + s.fn).toFixed(3)}  exact span ${s.exact}/${s.tp}`;
    });
    const all = Object.values(byType).reduce((a, s) => ({ tp: a.tp + s.tp, fp: a.fp + s.fp, fn: a.fn + s.fn, exact: a.exact + s.exact }), {
      tp: 0,
      fp: 0,
      fn: 0,
      exact: 0,
    });
    const precision = ratio(all.tp, all.tp + all.fp);
    const recall = ratio(all.tp, all.tp + all.fn);
    console.log(
      [
        `PII detectors on ${LABELLED_SET.length} labelled texts:`,
        ...rows,
        `all    labelled ${all.tp + all.fn}  tp ${all.tp}  fp ${all.fp}  fn ${all.fn}  precision ${precision.toFixed(3)}  recall ${recall.toFixed(3)}  exact span ${all.exact}/${all.tp}`,
        ...misses,
      ].join('\n'),
    );
    // Checked identifiers (card, IBAN, DNI, NIE) must not be wrong: their checksums decide.
    for (const t of ['card', 'iban', 'dni', 'nie'] as const) expect(byType[t].fp, t).toBe(0);
    expect(precision).toBeGreaterThanOrEqual(0.95);
    expect(recall).toBeGreaterThanOrEqual(0.9);
  });
});

/*
 * `npm run eval:guard [-- options]`: the prompt-injection guard, evaluated honestly.
 *
 * Leave one batch out: for each labelled batch (models/guard/batch-<x>.jsonl, each written by a
 * writer who never saw the others), a model is trained on all the others; its L2 penalty and its
 * per-channel thresholds (FPR ≤ 3 % there) are chosen on those alone, from their own
 * leave-one-batch-out scores; then it scores the held-out batch once. Prints TPR and FPR per
 * held-out batch, pooled, per language, per channel and for long texts; the ROC of the held-out scores;
 * the cross-batch overlap of the data; and the time of one check of a 4,000-character prompt with
 * the shipped weights. Writes models/guard/eval-results.json and models/guard/roc.svg.
 *
 *   --data-dir DIR   where batch-*.jsonl are (default models/guard)
 *   --weights FILE   shipped weights, for the timing (default models/guard/weights.json)
 *   --out FILE       JSON results (default models/guard/eval-results.json)
 *   --svg FILE       ROC chart (default models/guard/roc.svg)
 *   --max-fpr X      false-positive rate the thresholds are chosen for (default 0.03)
 *
 * Deterministic apart from the timing. Exit status: 0 done, 1 failed, 2 usage error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import type { Channel } from '../ext-proc/src/safety/guard/features.js';
import { loadGuardModel } from '../ext-proc/src/safety/guard/model.js';
import { normaliseText } from '../ext-proc/src/safety/guard/normalise.js';
import {
  type Batch,
  DEFAULT_GUARD_TRAIN_OPTIONS,
  type HeldOutFold,
  type HeldOutItem,
  L2_GRID,
  leaveOneBatchOut,
  parseGuardDataset,
} from '../ext-proc/src/safety/guard/train.js';
import { PromptGuard, USER_TEXT_MAX } from '../ext-proc/src/safety/guard/verdict.js';
import { batchFiles } from '../ext-proc/src/util/jsonl.js';
import { timePerCall } from './lib/per-call-time.js';

export interface Output {
  write(chunk: string): unknown;
}

class UsageError extends Error {}

/** Every independently written batch in `dir` (batch-<name>.jsonl), by name. */
export function loadBatches(dir: string): Batch[] {
  return batchFiles(dir).map(({ name, file }) => ({ name, examples: parseGuardDataset(readFileSync(file, 'utf8'), path.relative(repoRoot(), file)) }));
}

// ---------------------------------------------------------------------------------------------------
// Rates

export interface Rates {
  n: number;
  positives: number;
  negatives: number;
  tp: number;
  fp: number;
  tpr: number | null;
  fpr: number | null;
}

export function rates(items: readonly HeldOutItem[]): Rates {
  let tp = 0;
  let fp = 0;
  let positives = 0;
  let negatives = 0;
  for (const it of items) {
    if (it.label === 1) {
      positives++;
      if (it.flagged) tp++;
    } else {
      negatives++;
      if (it.flagged) fp++;
    }
  }
  return {
    n: items.length,
    positives,
    negatives,
    tp,
    fp,
    tpr: positives > 0 ? round4(tp / positives) : null,
    fpr: negatives > 0 ? round4(fp / negatives) : null,
  };
}

export interface Breakdown {
  all: Rates;
  en: Rates;
  es: Rates;
  user: Rates;
  data: Rates;
  /** Texts longer than LONG_CHARS: documents, where an injection has the most text to hide in. */
  long: Rates;
  auc: number;
}

/** What counts as a long text in the breakdown (the gateway checks a user turn this long as data). */
export const LONG_CHARS = USER_TEXT_MAX;

export function breakdown(items: readonly HeldOutItem[]): Breakdown {
  return {
    all: rates(items),
    en: rates(items.filter((i) => i.lang === 'en')),
    es: rates(items.filter((i) => i.lang === 'es')),
    user: rates(items.filter((i) => i.channel === 'user')),
    data: rates(items.filter((i) => i.channel === 'data')),
    long: rates(items.filter((i) => i.chars > LONG_CHARS)),
    auc: round4(auc(items)),
  };
}

/** Area under the ROC curve (ties count half). */
export function auc(items: readonly { score: number; label: 0 | 1 }[]): number {
  const sorted = [...items].sort((a, b) => a.score - b.score);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j]!.score === sorted[i]!.score) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (sorted[k]!.label === 1) rankSum += rank;
    for (let k = i; k < j; k++) if (sorted[k]!.label === 1) positives++;
    i = j;
  }
  const negatives = sorted.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface RocPoint {
  threshold: number;
  fpr: number;
  tpr: number;
}

/** The ROC curve (flagged when score ≥ threshold), from (0,0) to (1,1): its corner points. */
export function roc(items: readonly { score: number; label: 0 | 1 }[]): RocPoint[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const positives = sorted.filter((i) => i.label === 1).length;
  const negatives = sorted.length - positives;
  const out: RocPoint[] = [{ threshold: 1, fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < sorted.length; ) {
    const s = sorted[i]!.score;
    while (i < sorted.length && sorted[i]!.score === s) {
      if (sorted[i]!.label === 1) tp++;
      else fp++;
      i++;
    }
    out.push({ threshold: round4(s), fpr: round4(fp / negatives), tpr: round4(tp / positives) });
  }
  // Keep the corners: a point in the middle of a vertical or horizontal run adds nothing.
  return out.filter((p, i) => {
    const prev = out[i - 1];
    const next = out[i + 1];
    if (!prev || !next) return true;
    return !((prev.fpr === p.fpr && p.fpr === next.fpr) || (prev.tpr === p.tpr && p.tpr === next.tpr));
  });
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

// ---------------------------------------------------------------------------------------------------
// Overlap between batches

/** Word 3-gram shingles of a text (normalised as the guard normalises it). */
function shingles(text: string): Set<string> {
  const words = normaliseText(text)
    .text.split(/[^a-z0-9\u00e0-\u024f]+/)
    .filter(Boolean);
  const out = new Set<string>();
  for (let i = 0; i + 3 <= words.length; i++) out.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  if (words.length < 3 && words.length > 0) out.add(words.join(' '));
  return out;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

export interface PairOverlap {
  pair: string;
  /** Mean over the items of both batches of the highest word-3-gram Jaccard similarity to an item of the other batch. */
  meanMaxSimilarity: number;
  /** Items whose most similar item in the other batch shares at least half / 80 % of their shingles. */
  itemsAtLeast50: number;
  itemsAtLeast80: number;
  identicalTexts: number;
  /** Jaccard overlap of the two batches' vocabularies (normalised word types). */
  vocabularyJaccard: number;
  /** `kind` names used by both writers. */
  sharedKinds: number;
}

export function overlap(batches: readonly Batch[]): PairOverlap[] {
  const sh = batches.map((b) => b.examples.map((e) => shingles(e.text)));
  const vocab = batches.map(
    (b) =>
      new Set(
        b.examples.flatMap((e) =>
          normaliseText(e.text)
            .text.split(/[^a-z0-9\u00e0-\u024f]+/)
            .filter(Boolean),
        ),
      ),
  );
  const out: PairOverlap[] = [];
  for (let i = 0; i < batches.length; i++) {
    for (let j = i + 1; j < batches.length; j++) {
      const maxSims: number[] = [];
      for (const [x, y] of [
        [i, j],
        [j, i],
      ] as const) {
        for (const s of sh[x]!) maxSims.push(Math.max(0, ...sh[y]!.map((t) => jaccard(s, t))));
      }
      const texts = new Set(batches[j]!.examples.map((e) => e.text));
      const kindsI = new Set(batches[i]!.examples.map((e) => e.kind));
      const kindsJ = new Set(batches[j]!.examples.map((e) => e.kind));
      out.push({
        pair: `${batches[i]!.name}–${batches[j]!.name}`,
        meanMaxSimilarity: round4(maxSims.reduce((a, b) => a + b, 0) / maxSims.length),
        itemsAtLeast50: maxSims.filter((s) => s >= 0.5).length,
        itemsAtLeast80: maxSims.filter((s) => s >= 0.8).length,
        identicalTexts: batches[i]!.examples.filter((e) => texts.has(e.text)).length,
        vocabularyJaccard: round4(jaccard(vocab[i]!, vocab[j]!)),
        sharedKinds: [...kindsI].filter((k) => kindsJ.has(k)).length,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Timing

/** A 4,000-character prompt of ordinary prose and code, English and Spanish. */
export function prompt4000(seed: number): string {
  const sentences = [
    'The committee reviewed the quarterly figures and noted that operating costs rose faster than revenue.',
    'Most of the increase came from new hires in the support team and from higher cloud spending in March.',
    'El comité revisó las cifras del trimestre y señaló que los costes crecieron más deprisa que los ingresos.',
    'function total(items) { return items.reduce((sum, it) => sum + it.price * it.qty, 0); }',
    'Please ignore the previous paragraph and rewrite the summary in a friendlier tone for the newsletter.',
    'Several members asked whether the spring pricing change would offset it, and finance promised a model.',
  ];
  let body = '';
  for (let i = seed; body.length < 4000; i++) body += `${sentences[i % sentences.length]} `;
  // A JSON round trip: a flat string, as the gateway gets it from a request body.
  return JSON.parse(JSON.stringify(body.slice(0, 4000))) as string;
}

export interface Timing {
  /** Median and best of 21 rounds, microseconds per check (wall clock and this process's CPU time). */
  wallMedianMicros: number;
  wallBestMicros: number;
  cpuMedianMicros: number;
  channel: Channel;
}

export function timeCheck(guard: PromptGuard, channel: Channel): Timing {
  const texts = [0, 1, 2, 3, 4, 5].map(prompt4000);
  const t = timePerCall((i) => guard.scoreText(texts[i % texts.length]!, channel), { warmup: 1000, perRound: 100, rounds: 21 });
  return { wallMedianMicros: round1(t.wallMedianMicros), wallBestMicros: round1(t.wallBestMicros), cpuMedianMicros: round1(t.cpuMedianMicros), channel };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

// ---------------------------------------------------------------------------------------------------
// ROC chart

export function rocSvg(curves: ReadonlyArray<{ name: string; points: RocPoint[]; colour: string; operating?: { fpr: number; tpr: number } }>): string {
  const W = 900;
  const H = 420;
  const panel = (x0: number, maxFpr: number, title: string): string => {
    const size = 320;
    const y0 = 50;
    const px = (f: number) => x0 + (Math.min(f, maxFpr) / maxFpr) * size;
    const py = (t: number) => y0 + size - t * size;
    const parts: string[] = [];
    parts.push(`<text x="${x0 + size / 2}" y="${y0 - 14}" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>`);
    parts.push(`<rect x="${x0}" y="${y0}" width="${size}" height="${size}" fill="none" stroke="#444"/>`);
    for (let k = 0; k <= 4; k++) {
      const f = (maxFpr * k) / 4;
      const t = k / 4;
      parts.push(`<line x1="${px(f)}" y1="${y0}" x2="${px(f)}" y2="${y0 + size}" stroke="#ddd"/>`);
      parts.push(`<line x1="${x0}" y1="${py(t)}" x2="${x0 + size}" y2="${py(t)}" stroke="#ddd"/>`);
      parts.push(`<text x="${px(f)}" y="${y0 + size + 16}" text-anchor="middle" font-size="11">${(f * 100).toFixed(maxFpr < 1 ? 1 : 0)}%</text>`);
      parts.push(`<text x="${x0 - 6}" y="${py(t) + 4}" text-anchor="end" font-size="11">${(t * 100).toFixed(0)}%</text>`);
    }
    if (maxFpr < 1) parts.push(`<line x1="${px(0.03)}" y1="${y0}" x2="${px(0.03)}" y2="${y0 + size}" stroke="#c00" stroke-dasharray="4 3"/>`);
    else parts.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#bbb" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x0 + size / 2}" y="${y0 + size + 34}" text-anchor="middle" font-size="12">false-positive rate</text>`);
    parts.push(
      `<text x="${x0 - 40}" y="${y0 + size / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${x0 - 40} ${y0 + size / 2})">true-positive rate</text>`,
    );
    for (const c of curves) {
      const pts: string[] = [];
      let prev: RocPoint | undefined;
      for (const p of c.points) {
        if (prev && p.fpr > maxFpr && prev.fpr > maxFpr) break;
        // Step shape: a rise at constant FPR, then a run at constant TPR.
        if (prev) pts.push(`${px(p.fpr).toFixed(1)},${py(prev.tpr).toFixed(1)}`);
        pts.push(`${px(p.fpr).toFixed(1)},${py(p.tpr).toFixed(1)}`);
        prev = p;
      }
      parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${c.colour}" stroke-width="${c.name === 'pooled' ? 2.5 : 1.3}"/>`);
      if (c.operating && c.operating.fpr <= maxFpr)
        parts.push(`<circle cx="${px(c.operating.fpr).toFixed(1)}" cy="${py(c.operating.tpr).toFixed(1)}" r="4" fill="${c.colour}" stroke="#000"/>`);
    }
    return parts.join('\n');
  };
  const legend = curves
    .map(
      (c, i) =>
        `<line x1="770" y1="${70 + i * 20}" x2="795" y2="${70 + i * 20}" stroke="${c.colour}" stroke-width="2.5"/><text x="800" y="${74 + i * 20}" font-size="12">${c.name}</text>`,
    )
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    '<title>Prompt-injection guard: held-out ROC, leave one batch out</title>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    panel(70, 1, 'Held-out ROC (leave one batch out)'),
    panel(440, 0.1, 'Zoom: FPR 0–10 % (red: 3 %)'),
    legend,
    `<text x="770" y="${80 + curves.length * 20}" font-size="11">dots: operating points</text>`,
    '</svg>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Main

const SLICES = ['en', 'es', 'user', 'data', 'long'] as const;
/** One colour per held-out batch in the ROC chart (the pooled curve is red). */
const FOLD_COLOURS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#ff7f0e', '#393b79'];

const pct = (x: number | null): string => (x === null ? '   –  ' : `${(x * 100).toFixed(1).padStart(5)} %`);

function row(label: string, r: Rates): string {
  return `${label.padEnd(22)} ${String(r.positives).padStart(4)} ${String(r.negatives).padStart(4)}   ${String(r.tp).padStart(4)} ${pct(r.tpr)}   ${String(r.fp).padStart(3)} ${pct(r.fpr)}`;
}

export function main(argv: string[], out: Output): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'data-dir': { type: 'string' }, weights: { type: 'string' }, out: { type: 'string' }, svg: { type: 'string' }, 'max-fpr': { type: 'string' } },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const root = repoRoot();
  const dataDir = path.resolve(root, (values['data-dir'] as string | undefined) ?? 'models/guard');
  const weightsPath = path.resolve(root, (values.weights as string | undefined) ?? 'models/guard/weights.json');
  const outPath = path.resolve(root, (values.out as string | undefined) ?? 'models/guard/eval-results.json');
  const svgPath = path.resolve(root, (values.svg as string | undefined) ?? 'models/guard/roc.svg');
  const maxFpr = Number((values['max-fpr'] as string | undefined) ?? '0.03');
  if (!(maxFpr > 0 && maxFpr < 1)) throw new UsageError(`--max-fpr: expected a number in (0, 1), got ${String(values['max-fpr'])}`);
  const w = (s: string) => out.write(`${s}\n`);

  const batches = loadBatches(dataDir);
  const opts = DEFAULT_GUARD_TRAIN_OPTIONS;
  const started = performance.now();
  const folds: HeldOutFold[] = leaveOneBatchOut(batches, opts, maxFpr, L2_GRID);
  const seconds = (performance.now() - started) / 1000;
  const pooledItems = folds.flatMap((f) => f.items);
  const perFold = folds.map((f) => ({
    heldOut: f.heldOut,
    trainedOn: f.trainedOn,
    l2: f.selection.l2,
    l2Candidates: f.selection.candidates,
    thresholds: { user: round4(f.selection.thresholds.user), data: round4(f.selection.thresholds.data) },
    ...breakdown(f.items),
  }));
  const pooled = breakdown(pooledItems);

  w(
    `Prompt-injection guard: leave one batch out (train on all batches but one, choose L2 and thresholds for FPR ≤ ${(maxFpr * 100).toFixed(0)} % on them, test on the one left out)`,
  );
  w(
    `${batches.map((b) => `batch-${b.name}: ${b.examples.length}`).join(', ')}; ${opts.epochs} epochs, seed ${opts.seed}, 2^${opts.hashBits} buckets, L2 from ${L2_GRID.join(' / ')}; ${seconds.toFixed(0)} s`,
  );
  w('');
  w(`${'held out / slice'.padEnd(22)} ${'pos'.padStart(4)} ${'neg'.padStart(4)}   ${'TP'.padStart(4)}   TPR     ${'FP'.padStart(3)}   FPR`);
  for (const f of perFold) {
    w(
      row(`batch-${f.heldOut}`, f.all) +
        `   AUC ${f.auc.toFixed(3)}  L2 ${f.l2}  thresholds user ${f.thresholds.user.toFixed(3)} data ${f.thresholds.data.toFixed(3)}`,
    );
    for (const k of SLICES) w(row(`  ${k}`, f[k]));
  }
  w(`${row('pooled', pooled.all)}   AUC ${pooled.auc.toFixed(3)}`);
  for (const k of SLICES) w(row(`  ${k}`, pooled[k]));

  // ROC of the held-out scores (each fold's scores are re-centred on its own thresholds, so they pool).
  const pooledCurve = { name: 'pooled', points: roc(pooledItems), colour: '#d62728', operating: pick(pooled.all) };
  const curves = [
    ...folds.map((f, i) => ({
      name: `held out ${f.heldOut}`,
      points: roc(f.items),
      colour: FOLD_COLOURS[i % FOLD_COLOURS.length]!,
      operating: pick(rates(f.items)),
    })),
    pooledCurve,
  ];
  const best = (points: RocPoint[], f: number) => points.filter((p) => p.fpr <= f).reduce((a, p) => (p.tpr > a ? p.tpr : a), 0);
  w('');
  w(
    `ROC (pooled held-out scores): best TPR at FPR ≤ 1 % ${pct(best(pooledCurve.points, 0.01))}, ≤ 3 % ${pct(best(pooledCurve.points, 0.03))}, ≤ 5 % ${pct(best(pooledCurve.points, 0.05))}, ≤ 10 % ${pct(best(pooledCurve.points, 0.1))} (an oracle threshold: for reference only)`,
  );

  const overlaps = overlap(batches);
  w('');
  w('cross-batch overlap (word 3-gram shingles, normalised text):');
  for (const o of overlaps)
    w(
      `  ${o.pair}: mean max similarity ${o.meanMaxSimilarity.toFixed(3)}, items ≥ 0.5: ${o.itemsAtLeast50}, ≥ 0.8: ${o.itemsAtLeast80}, identical texts: ${o.identicalTexts}, vocabulary Jaccard ${o.vocabularyJaccard.toFixed(3)}, shared kind names ${o.sharedKinds}`,
    );

  let timing: { user: Timing; data: Timing } | undefined;
  try {
    const guard = new PromptGuard(loadGuardModel(weightsPath));
    timing = { user: timeCheck(guard, 'user'), data: timeCheck(guard, 'data') };
    w('');
    w(
      `time per check of a 4,000-character prompt (shipped weights): median ${timing.user.wallMedianMicros} µs wall, ${timing.user.cpuMedianMicros} µs CPU (best ${timing.user.wallBestMicros} µs); budget 300 µs`,
    );
  } catch (e) {
    w('');
    w(`timing skipped: ${e instanceof Error ? e.message : String(e)}`);
  }

  const json = {
    generatedBy: 'npm run eval:guard',
    protocol:
      'leave one batch out; L2 penalty and per-channel thresholds (FPR ≤ maxFpr) chosen on the training batches alone, from their own leave-one-batch-out scores; held-out batch scored once',
    maxFpr,
    training: { ...opts, l2Grid: L2_GRID },
    batches: batches.map((b) => ({ name: b.name, examples: b.examples.length, positives: b.examples.filter((e) => e.label === 1).length })),
    folds: perFold,
    pooled,
    roc: {
      note: "scores re-centred on each fold's channel thresholds (0.5 = the operating point); flagged when score ≥ threshold",
      pooled: pooledCurve.points,
      perFold: Object.fromEntries(folds.map((f, i) => [f.heldOut, curves[i]!.points])),
    },
    overlap: overlaps,
    timing4000Chars: timing,
    misclassified: pooledItems
      .filter((i) => i.flagged !== (i.label === 1))
      .map((i) => ({ id: i.id, label: i.label, kind: i.kind, channel: i.channel, score: round4(i.score) })),
  };
  writeFileSync(outPath, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(svgPath, rocSvg(curves));
  w('');
  w(`wrote ${path.relative(root, outPath)} and ${path.relative(root, svgPath)}`);
  return 0;
}

function pick(r: Rates): { fpr: number; tpr: number } | undefined {
  return r.fpr === null || r.tpr === null ? undefined : { fpr: r.fpr, tpr: r.tpr };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2), process.stdout);
  } catch (e) {
    process.stderr.write(`eval-guard: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}

/*
 * `npm run eval:routing [-- options]`: how well auto-routing generalises to requests written by
 * people whose phrasing the model never saw. Leave-one-batch-out over the independently written
 * batches (models/classifier/batches/): for each batch, a model trained on all the others scores
 * it. Prints, for the held-out requests, per batch and pooled: tier accuracy, the confusion
 * matrix, recall of `complex`, the share of `medium` sent to `complex`, routing below the
 * labelled tier, EN / ES / other accuracy, domain accuracy, the cost against always-premium for
 * each quality_bias preset, the cost–quality curve (the threshold swept from all-premium to
 * all-cheap) with the cost at 95 % and 99 % complex recall, the fitted tier temperature, and the
 * decision time. Writes the figures as JSON.
 *
 *   --data DIR       folder with batches/ and the single-author train/eval files (default models/classifier)
 *   --catalog FILE   model catalog (default $CATALOG_PATH or models/catalog.yaml)
 *   --out FILE       JSON results (default models/classifier/eval-results.json)
 *   --legacy         also train each fold on the single-author set (never scored)
 *   --l2 X --epochs N --min-count N   training options, for experiments
 *
 * Cost model (documented in models/classifier/README.md):
 *   - tier → catalog quality tier: simple → economy, medium → standard, complex → premium; within
 *     it, the cheapest model for a reference request (1,000 input tokens + that tier's output);
 *     a request needing a capability that model lacks (tools, vision, JSON mode, context window)
 *     goes to the cheapest model of the same quality tier that has it (else the next tier up);
 *   - tokens per request: input = the classifier's estimatedTokens; output = a fixed number per
 *     *labelled* tier (the answer's length belongs to the request, not to the model it is sent to),
 *     the same in both columns;
 *   - baseline: every request on the premium model the mapping uses for `complex`.
 *
 * Exit status: 0 done, 1 failed (message on stderr), 2 usage error.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { filterCatalog, loadCatalog } from '../ext-proc/src/catalog/load.js';
import type { Catalog, Model, Tier as QualityTier } from '../ext-proc/src/catalog/load.js';
import { loadBatches, loadLegacy } from '../ext-proc/src/classify/batches.js';
import type { Batch } from '../ext-proc/src/classify/batches.js';
import { Classifier, defaultWeightsPath } from '../ext-proc/src/classify/classify.js';
import { DEFAULT_QUALITY_BIAS, PRESET_DIALS, QUALITY_BIAS_PRESETS } from '../ext-proc/src/classify/decide.js';
import type { QualityBias, TierDial } from '../ext-proc/src/classify/decide.js';
import { loadClassifierModel } from '../ext-proc/src/classify/model.js';
import { DEFAULT_TRAIN_OPTIONS, type toRequest } from '../ext-proc/src/classify/train.js';
import type { LabelledExample, TrainOptions } from '../ext-proc/src/classify/train.js';
import { COMPLEXITY_TIERS } from '../ext-proc/src/classify/types.js';
import type { Classification, ComplexityTier } from '../ext-proc/src/classify/types.js';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { byBatch, byLanguage, cheapestAtRecall, costQualityCurve, figures, OUTPUT_TOKENS, requestCost } from './routing-eval/figures.js';
import type { CurvePoint, Figures } from './routing-eval/figures.js';
import { timePerCall } from './lib/per-call-time.js';
import { agreement } from './routing-eval/agreement.js';
import type { Agreement, Relabel } from './routing-eval/agreement.js';
import { expectedCalibrationError, fitTemperature, leaveOneBatchOut } from './routing-eval/lobo.js';

export interface Output {
  write(chunk: string): unknown;
}

class UsageError extends Error {}

/** Quality tier of the catalog each complexity tier is routed to. */
export const QUALITY_FOR_TIER: Record<ComplexityTier, QualityTier> = { simple: 'economy', medium: 'standard', complex: 'premium' };
/** Input tokens of the reference request used to rank models by price. */
export const REFERENCE_INPUT_TOKENS = 1000;

const QUALITY_ORDER: readonly QualityTier[] = ['economy', 'standard', 'premium'];

function needs(c: Classification, m: Model, input: number, output: number): boolean {
  if (c.capabilities.tools && !m.capabilities.has('tools')) return false;
  if (c.capabilities.vision && !m.capabilities.has('vision')) return false;
  if (c.capabilities.json && !m.capabilities.has('json_mode')) return false;
  return m.contextWindow >= input + output;
}

/** Models of a quality tier, cheapest first for the reference request of `tier` (ties: by id). */
function ranked(catalog: Catalog, quality: QualityTier, tier: ComplexityTier): Model[] {
  return catalog.models
    .filter((m) => m.tier === quality)
    .sort((a, b) => {
      const d = requestCost(a, REFERENCE_INPUT_TOKENS, OUTPUT_TOKENS[tier]) - requestCost(b, REFERENCE_INPUT_TOKENS, OUTPUT_TOKENS[tier]);
      return d !== 0 ? d : a.id < b.id ? -1 : 1;
    });
}

export interface Router {
  defaults: Record<ComplexityTier, string>;
  premium: Model;
  pick(tier: ComplexityTier, c: Classification, input: number, output: number): { model: Model; fallback: boolean };
}

export function makeRouter(catalog: Catalog): Router {
  const byTier = {} as Record<ComplexityTier, Model[][]>;
  for (const tier of COMPLEXITY_TIERS) {
    const from = QUALITY_ORDER.indexOf(QUALITY_FOR_TIER[tier]);
    byTier[tier] = QUALITY_ORDER.slice(from).map((q) => ranked(catalog, q, tier));
  }
  const defaults = {} as Record<ComplexityTier, string>;
  for (const tier of COMPLEXITY_TIERS) {
    const first = byTier[tier][0]?.[0];
    if (!first) throw new Error(`catalog has no ${QUALITY_FOR_TIER[tier]} model for tier ${tier}`);
    defaults[tier] = first.id;
  }
  const premium = byTier.complex[0]![0]!;
  return {
    defaults,
    premium,
    pick(tier, c, input, output) {
      for (const group of byTier[tier]) {
        for (const m of group) if (needs(c, m, input, output)) return { model: m, fallback: m.id !== defaults[tier] };
      }
      return { model: premium, fallback: true };
    },
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/** A prompt of `chars` characters of pasted prose plus a question, for the per-decision time. */
export function benchmarkPrompt(chars: number): { messages: { role: string; content: string }[] } {
  const para =
    'The committee reviewed the quarterly figures and noted that operating costs rose faster than revenue, mainly because of new hires in the support team and higher cloud spending. ' +
    'Several members asked whether the pricing change planned for the spring would offset the increase, and the finance lead promised a detailed model before the next meeting. ';
  let body = '';
  while (body.length < chars - 40) body += para;
  return { messages: [{ role: 'user', content: `${body.slice(0, chars - 40)}\n\nWhat is its title?` }] };
}

function timeDecisions(clf: Classifier, reqs: ReturnType<typeof toRequest>[], rounds: number): number {
  return timePerCall((i) => clf.classify(reqs[i % reqs.length]!), { warmup: 200, perRound: 500, rounds }).wallMedianMicros;
}

export interface LoboResults {
  batches: string[];
  trainingOnly: number;
  temperature: number;
  ece: { before: number; after: number };
  presets: Record<QualityBias, Figures & { dial: TierDial }>;
  argmax: Figures;
  perBatch: Record<string, Figures>;
  perLanguage: Record<string, Figures>;
  curve: CurvePoint[];
  at95: CurvePoint | undefined;
  at99: CurvePoint | undefined;
  baselineModel: string;
  latency: { prompt4000CharsMedianMicros: number; prompt30000CharsMedianMicros: number };
  /** The labels against a second, independent labeller's (the ceiling), when its file is there. */
  agreement?: Agreement;
}

/** Leave-one-batch-out figures of the routing decision (see the header of this file). */
export function evaluateLobo(
  batches: readonly Batch[],
  legacy: readonly LabelledExample[],
  catalog: Catalog,
  progress: (m: string) => void,
  opts: TrainOptions = DEFAULT_TRAIN_OPTIONS,
): LoboResults {
  const scored = leaveOneBatchOut(batches, legacy, opts, progress);
  const temperature = fitTemperature(scored);
  const router = makeRouter(catalog);
  const presets = Object.fromEntries(
    QUALITY_BIAS_PRESETS.map((p) => [p, { dial: PRESET_DIALS[p], ...figures(scored, temperature, PRESET_DIALS[p], router) }]),
  ) as LoboResults['presets'];
  const dial = PRESET_DIALS[DEFAULT_QUALITY_BIAS];
  const curve = costQualityCurve(scored, temperature, router);
  const clf = new Classifier(loadClassifierModel(defaultWeightsPath()));
  return {
    batches: batches.map((b) => b.name),
    trainingOnly: legacy.length,
    temperature,
    ece: { before: expectedCalibrationError(scored, 1), after: expectedCalibrationError(scored, temperature) },
    presets,
    argmax: figures(scored, temperature, { threshold: 0.5, margin: 0 }, router),
    perBatch: Object.fromEntries([...byBatch(scored)].map(([b, list]) => [b, figures(list, temperature, dial, router)])),
    perLanguage: Object.fromEntries([...byLanguage(scored)].map(([l, list]) => [l, figures(list, temperature, dial, router)])),
    curve,
    at95: cheapestAtRecall(curve, 0.95),
    at99: cheapestAtRecall(curve, 0.99),
    baselineModel: router.premium.id,
    latency: {
      prompt4000CharsMedianMicros: Number(timeDecisions(clf, [benchmarkPrompt(4000)], 15).toFixed(1)),
      prompt30000CharsMedianMicros: Number(timeDecisions(clf, [benchmarkPrompt(30_000)], 15).toFixed(1)),
    },
  };
}

function row(name: string, f: Figures): string {
  return [
    name.padEnd(12),
    String(f.n).padStart(5),
    pct(f.accuracy).padStart(9),
    pct(f.recallComplex).padStart(9),
    pct(f.mediumToComplex).padStart(9),
    pct(f.under).padStart(9),
    pct(f.domainAccuracy).padStart(9),
    `${(f.premiumUsd ? (1 - f.costUsd / f.premiumUsd) * 100 : 0).toFixed(1)} %`.padStart(9),
  ].join(' ');
}

export function reportLobo(r: LoboResults, out: Output): void {
  const w = (s: string) => out.write(`${s}\n`);
  w(
    `leave-one-batch-out over ${r.batches.length} batches (${r.batches.join(', ')}); ${r.trainingOnly ? `the single-author set (${r.trainingOnly}) is trained on, never scored` : 'trained on the batches alone'}`,
  );
  w(`tier temperature ${r.temperature} (expected calibration error ${pct(r.ece.before)} → ${pct(r.ece.after)})`);
  const head = ['', 'n', 'tier acc', 'cx recall', 'med→cx', 'under', 'domain', 'saved']
    .map((h, i) => (i === 0 ? h.padEnd(12) : h.padStart(i === 1 ? 5 : 9)))
    .join(' ');
  w(`\nheld-out figures by preset (saved = cost below always ${r.baselineModel}):`);
  w(head);
  for (const [p, f] of Object.entries(r.presets)) w(row(`${p} ${f.dial.threshold}`, f));
  w(row('argmax', r.argmax));
  w(`\nper held-out batch (${DEFAULT_QUALITY_BIAS}):`);
  w(head);
  for (const [b, f] of Object.entries(r.perBatch)) w(row(`batch ${b}`, f));
  w(`\nper language (${DEFAULT_QUALITY_BIAS}):`);
  w(head);
  for (const [l, f] of Object.entries(r.perLanguage)) w(row(l, f));
  const b = r.presets[DEFAULT_QUALITY_BIAS];
  w(`\nconfusion, ${DEFAULT_QUALITY_BIAS} (rows labelled, columns routed): ${b.confusion.map((x, i) => `${COMPLEXITY_TIERS[i]} ${x.join(' / ')}`).join('; ')}`);
  w('\ncost–quality curve (threshold: cost share of always-premium, complex recall, tier accuracy):');
  for (const p of r.curve.filter((_, i) => i % 5 === 0))
    w(`  ${p.threshold.toFixed(2)}  ${pct(p.costShare).padStart(8)}  ${pct(p.recallComplex).padStart(8)}  ${pct(p.accuracy).padStart(8)}`);
  const at = (label: string, p: CurvePoint | undefined) =>
    w(
      p
        ? `cost at ${label} complex recall: ${pct(p.costShare)} of always-premium (threshold ${p.threshold.toFixed(2)})`
        : `${label} complex recall: not reached`,
    );
  at('95 %', r.at95);
  at('99 %', r.at99);
  if (r.agreement) {
    const a = r.agreement;
    const k = (x: { kappa: number; observed: number }) => `kappa ${x.kappa.toFixed(3)} (agree ${pct(x.observed)})`;
    w(
      `\nsecond labeller on ${a.items} items (${a.unsure} marked unsure): tier ${k(a.tier)}; simple | medium+ ${k(a.simpleVsMediumUp)}; complex | below ${k(a.complexVsBelow)}; domain ${k(a.domain)}`,
    );
  }
  w(
    `decision time (median): ${r.latency.prompt4000CharsMedianMicros} µs for a 4,000-character prompt, ${r.latency.prompt30000CharsMedianMicros} µs for 30,000`,
  );
}

export function main(argv: string[], env: NodeJS.ProcessEnv, out: Output): number {
  let values: { data?: string; catalog?: string; out?: string; l2?: string; epochs?: string; 'min-count'?: string; legacy?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        catalog: { type: 'string' },
        out: { type: 'string' },
        l2: { type: 'string' },
        epochs: { type: 'string' },
        'min-count': { type: 'string' },
        legacy: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const root = repoRoot();
  const dataDir = path.resolve(root, values.data ?? 'models/classifier');
  const catalogPath = path.resolve(root, values.catalog ?? env.CATALOG_PATH ?? 'models/catalog.yaml');
  const outPath = path.resolve(root, values.out ?? 'models/classifier/eval-results.json');
  const batches = loadBatches(path.join(dataDir, 'batches'));
  if (batches.length < 2) throw new Error(`${path.relative(root, dataDir)}/batches: leave-one-batch-out needs two batches or more`);
  // Cloud models only: local pools have no list price, and would make any routing look free.
  const catalog = filterCatalog(loadCatalog(catalogPath), (p) => p.apiKeyEnv !== undefined);
  const opts: TrainOptions = {
    ...DEFAULT_TRAIN_OPTIONS,
    ...(values.l2 ? { l2: Number(values.l2) } : {}),
    ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
    ...(values['min-count'] ? { minCount: Number(values['min-count']) } : {}),
  };
  // The single-author set is trained on only when asked (as npm run train:classifier does).
  const legacy = values.legacy ? loadLegacy(dataDir) : [];
  const results = evaluateLobo(batches, legacy, catalog, (m) => out.write(`${m}\n`), opts);
  const relabelPath = path.join(dataDir, 'agreement', 'relabel.jsonl');
  if (existsSync(relabelPath)) {
    const relabels = readFileSync(relabelPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Relabel);
    results.agreement = agreement(new Map(batches.flatMap((b) => b.examples).map((e) => [e.id, e])), relabels);
  }
  reportLobo(results, out);
  writeFileSync(outPath, `${JSON.stringify({ catalog: path.relative(root, catalogPath), ...results }, null, 2)}\n`);
  out.write(`wrote ${path.relative(root, outPath)}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2), process.env, process.stdout);
  } catch (e) {
    process.stderr.write(`eval-routing: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}

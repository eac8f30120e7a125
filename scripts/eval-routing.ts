/*
 * `npm run eval:routing [-- options]`: runs the shipped classifier over the labelled evaluation set
 * and prints tier accuracy, the tier confusion matrix, recall of `complex`, per-language accuracy,
 * domain accuracy, the decision time, and the cost of the resulting routing against always using
 * the premium model (catalog prices). Also writes the figures as JSON.
 *
 *   --data FILE      labelled JSONL (default models/classifier/eval.jsonl)
 *   --weights FILE   classifier weights (default models/classifier/weights.json)
 *   --catalog FILE   model catalog (default $CATALOG_PATH or models/catalog.yaml)
 *   --out FILE       JSON results (default models/classifier/eval-results.json)
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
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { filterCatalog, loadCatalog } from '../ext-proc/src/catalog/load.js';
import type { Catalog, Model, Tier as QualityTier } from '../ext-proc/src/catalog/load.js';
import { Classifier } from '../ext-proc/src/classify/classify.js';
import { loadClassifierModel } from '../ext-proc/src/classify/model.js';
import { parseDataset, toRequest } from '../ext-proc/src/classify/train.js';
import type { LabelledExample } from '../ext-proc/src/classify/train.js';
import { COMPLEXITY_TIERS, DOMAINS } from '../ext-proc/src/classify/types.js';
import type { Classification, ComplexityTier } from '../ext-proc/src/classify/types.js';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { costUsd } from '../ext-proc/src/metering/cost.js';

export interface Output {
  write(chunk: string): unknown;
}

class UsageError extends Error {}

/** Quality tier of the catalog each complexity tier is routed to. */
export const QUALITY_FOR_TIER: Record<ComplexityTier, QualityTier> = { simple: 'economy', medium: 'standard', complex: 'premium' };
/** Assumed output tokens per request, by labelled tier. */
export const OUTPUT_TOKENS: Record<ComplexityTier, number> = { simple: 150, medium: 600, complex: 1500 };
/** Input tokens of the reference request used to rank models by price. */
export const REFERENCE_INPUT_TOKENS = 1000;

const QUALITY_ORDER: readonly QualityTier[] = ['economy', 'standard', 'premium'];

function requestCost(m: Model, input: number, output: number): number {
  return costUsd({ inputTokens: input, outputTokens: output, cachedInputTokens: 0, reasoningTokens: 0 }, m.pricing);
}

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

function usd(x: number): string {
  return `$${x.toFixed(4)}`;
}

/** A 4,000-character prompt of pasted prose plus a question, for the per-decision time. */
export function benchmarkPrompt(): { messages: { role: string; content: string }[] } {
  const para =
    'The committee reviewed the quarterly figures and noted that operating costs rose faster than revenue, mainly because of new hires in the support team and higher cloud spending. ' +
    'Several members asked whether the pricing change planned for the spring would offset the increase, and the finance lead promised a detailed model before the next meeting. ';
  let body = '';
  while (body.length < 3960) body += para;
  return { messages: [{ role: 'user', content: `${body.slice(0, 3960)}\n\nWhat is its title?` }] };
}

function timeDecisions(clf: Classifier, reqs: ReturnType<typeof toRequest>[], rounds: number): number {
  for (let i = 0; i < 200; i++) clf.classify(reqs[i % reqs.length]!);
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const n = 500;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) clf.classify(reqs[i % reqs.length]!);
    samples.push(((performance.now() - t0) / n) * 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

export function evaluate(examples: readonly LabelledExample[], clf: Classifier, catalog: Catalog) {
  const n = examples.length;
  const confusion = COMPLEXITY_TIERS.map(() => COMPLEXITY_TIERS.map(() => 0));
  const domainConfusion = DOMAINS.map(() => DOMAINS.map(() => 0));
  const perLang: Record<string, { n: number; tier: number; domain: number }> = {};
  const hard = { n: 0, tier: 0 };
  const multi = { n: 0, tier: 0 };
  let tierOk = 0;
  let domainOk = 0;
  const router = makeRouter(catalog);
  let routed = 0;
  let baseline = 0;
  let oracle = 0;
  let fallbacks = 0;
  const routedBy: Record<string, number> = {};
  const requests = examples.map(toRequest);
  examples.forEach((ex, i) => {
    const c = clf.classify(requests[i]!);
    const t = COMPLEXITY_TIERS.indexOf(ex.tier);
    const p = COMPLEXITY_TIERS.indexOf(c.tier);
    confusion[t]![p]!++;
    domainConfusion[DOMAINS.indexOf(ex.domain)]![DOMAINS.indexOf(c.domain)]!++;
    const L = (perLang[ex.lang] ??= { n: 0, tier: 0, domain: 0 });
    L.n++;
    if (t === p) {
      tierOk++;
      L.tier++;
    }
    if (c.domain === ex.domain) {
      domainOk++;
      L.domain++;
    }
    if (ex.note !== undefined) {
      hard.n++;
      if (t === p) hard.tier++;
    }
    if (ex.messages.filter((m) => m.role === 'user').length > 1) {
      multi.n++;
      if (t === p) multi.tier++;
    }
    const input = c.estimatedTokens;
    const output = OUTPUT_TOKENS[ex.tier];
    const pick = router.pick(c.tier, c, input, output);
    if (pick.fallback) fallbacks++;
    routedBy[pick.model.id] = (routedBy[pick.model.id] ?? 0) + 1;
    routed += requestCost(pick.model, input, output);
    oracle += requestCost(router.pick(ex.tier, c, input, output).model, input, output);
    baseline += requestCost(router.premium, input, output);
  });
  const complexIdx = COMPLEXITY_TIERS.indexOf('complex');
  const complexRow = confusion[complexIdx]!;
  const complexCol = confusion.map((row) => row[complexIdx]!);
  const complexTotal = complexRow.reduce((a, b) => a + b, 0);
  const predictedComplex = complexCol.reduce((a, b) => a + b, 0);
  const underRouted = confusion.reduce((acc, row, ti) => acc + row.reduce((a, v, pi) => a + (pi < ti ? v : 0), 0), 0);
  const overRouted = confusion.reduce((acc, row, ti) => acc + row.reduce((a, v, pi) => a + (pi > ti ? v : 0), 0), 0);

  const latency = {
    evalSetMedianMicros: Number(timeDecisions(clf, requests, 15).toFixed(1)),
    prompt4000CharsMedianMicros: Number(timeDecisions(clf, [benchmarkPrompt()], 15).toFixed(1)),
  };

  return {
    examples: n,
    tier: {
      labels: [...COMPLEXITY_TIERS],
      accuracy: tierOk / n,
      confusion,
      recallComplex: complexTotal > 0 ? complexRow[complexIdx]! / complexTotal : 0,
      precisionComplex: predictedComplex > 0 ? complexRow[complexIdx]! / predictedComplex : 0,
      underRouted: underRouted / n,
      overRouted: overRouted / n,
      perLanguage: Object.fromEntries(Object.entries(perLang).map(([l, v]) => [l, { examples: v.n, accuracy: v.tier / v.n }])),
      hardCases: { examples: hard.n, accuracy: hard.n > 0 ? hard.tier / hard.n : 0 },
      multiTurn: { examples: multi.n, accuracy: multi.n > 0 ? multi.tier / multi.n : 0 },
    },
    domain: {
      labels: [...DOMAINS],
      accuracy: domainOk / n,
      confusion: domainConfusion,
      perLanguage: Object.fromEntries(Object.entries(perLang).map(([l, v]) => [l, { examples: v.n, accuracy: v.domain / v.n }])),
    },
    cost: {
      mapping: Object.fromEntries(COMPLEXITY_TIERS.map((t) => [t, { qualityTier: QUALITY_FOR_TIER[t], model: router.defaults[t] }])),
      outputTokensPerLabelledTier: OUTPUT_TOKENS,
      inputTokens: 'classifier estimatedTokens',
      baselineModel: router.premium.id,
      capabilityFallbacks: fallbacks,
      requestsPerModel: routedBy,
      routedUsd: routed,
      baselineUsd: baseline,
      savingPct: baseline > 0 ? (1 - routed / baseline) * 100 : 0,
      oracleRoutedUsd: oracle,
      oracleSavingPct: baseline > 0 ? (1 - oracle / baseline) * 100 : 0,
    },
    latency,
  };
}

export type EvalResults = ReturnType<typeof evaluate>;

export function report(r: EvalResults, out: Output): void {
  const w = (s: string) => out.write(`${s}\n`);
  const T = r.tier;
  w(`examples: ${r.examples}`);
  w(`tier accuracy: ${pct(T.accuracy)}`);
  w('tier confusion (rows = labelled, columns = predicted):');
  w(`  ${''.padEnd(9)}${T.labels.map((l) => l.padStart(9)).join('')}`);
  T.confusion.forEach((row, i) => {
    w(`  ${T.labels[i]!.padEnd(9)}${row.map((v) => String(v).padStart(9)).join('')}`);
  });
  w(`recall of complex: ${pct(T.recallComplex)} (precision ${pct(T.precisionComplex)})`);
  w(`routed below the labelled tier: ${pct(T.underRouted)}, above: ${pct(T.overRouted)}`);
  for (const [l, v] of Object.entries(T.perLanguage)) w(`tier accuracy [${l}]: ${pct(v.accuracy)} (${v.examples})`);
  w(
    `tier accuracy on the noted hard cases: ${pct(T.hardCases.accuracy)} (${T.hardCases.examples}); multi-turn: ${pct(T.multiTurn.accuracy)} (${T.multiTurn.examples})`,
  );
  w(`domain accuracy: ${pct(r.domain.accuracy)}`);
  for (const [l, v] of Object.entries(r.domain.perLanguage)) w(`domain accuracy [${l}]: ${pct(v.accuracy)} (${v.examples})`);
  const C = r.cost;
  w('cost model:');
  for (const [t, m] of Object.entries(C.mapping))
    w(`  ${t.padEnd(8)} → ${m.qualityTier.padEnd(9)} ${m.model} (output ${C.outputTokensPerLabelledTier[t as ComplexityTier]} tokens)`);
  w(`  input tokens: the classifier's estimate; capability fallbacks: ${C.capabilityFallbacks}; baseline: every request on ${C.baselineModel}`);
  w(`cost routed: ${usd(C.routedUsd)}   always premium: ${usd(C.baselineUsd)}   saving: ${C.savingPct.toFixed(1)} %`);
  w(`(with the labelled tiers instead of the predicted ones: ${usd(C.oracleRoutedUsd)}, saving ${C.oracleSavingPct.toFixed(1)} %)`);
  w(`decision time (median): ${r.latency.evalSetMedianMicros} µs per eval request, ${r.latency.prompt4000CharsMedianMicros} µs for a 4,000-character prompt`);
}

export function main(argv: string[], env: NodeJS.ProcessEnv, out: Output): number {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { data: { type: 'string' }, weights: { type: 'string' }, catalog: { type: 'string' }, out: { type: 'string' } },
      strict: true,
    }) as { values: Record<string, string | undefined> });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const root = repoRoot();
  const dataPath = path.resolve(root, values.data ?? 'models/classifier/eval.jsonl');
  const weightsPath = path.resolve(root, values.weights ?? 'models/classifier/weights.json');
  const catalogPath = path.resolve(root, values.catalog ?? env.CATALOG_PATH ?? 'models/catalog.yaml');
  const outPath = path.resolve(root, values.out ?? 'models/classifier/eval-results.json');
  const examples = parseDataset(readFileSync(dataPath, 'utf8'), path.relative(root, dataPath));
  const clf = new Classifier(loadClassifierModel(weightsPath));
  // Cloud models only: local pools have no list price, and would make any routing look free.
  const catalog = filterCatalog(loadCatalog(catalogPath), (p) => p.apiKeyEnv !== undefined);
  const results = evaluate(examples, clf, catalog);
  out.write(`${path.relative(root, dataPath)} with ${path.relative(root, weightsPath)}, prices from ${path.relative(root, catalogPath)}\n`);
  report(results, out);
  const json = {
    data: path.relative(root, dataPath),
    weights: path.relative(root, weightsPath),
    catalog: path.relative(root, catalogPath),
    ...results,
  };
  writeFileSync(outPath, `${JSON.stringify(json, null, 2)}\n`);
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

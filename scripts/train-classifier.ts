/*
 * `npm run train:classifier [-- options]`: trains the request classifier (tier + domain heads) on
 * every independently written batch (models/classifier/batches/) and writes
 * models/classifier/weights.json, with the tier head's temperature fitted on leave-one-batch-out
 * predictions (each batch scored by a model trained without it).
 *
 *   --data DIR|FILE the batches folder (default models/classifier/batches), or one labelled JSONL
 *   --legacy        also train on the single-author set (train.jsonl + eval.jsonl); off by default:
 *                   held out by batch, it made routing worse
 *   --no-calibrate  skip the temperature fit (temperature 1)
 *   --out FILE      weights file to write (default models/classifier/weights.json)
 *   --cv K          also report K-fold cross-validated accuracy on the training data (no file change)
 *   --seed N --epochs N --lr X --l2 X --bits N   training options (defaults in the weights' "training")
 *   --min-level N   ship only hashed rows whose largest int8 weight reaches N (size vs. detail)
 *
 * Deterministic: same data and options → the same weights file, byte for byte.
 * Exit status: 0 done, 1 failed (message on stderr), 2 usage error.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadBatches, loadLegacy } from '../ext-proc/src/classify/batches.js';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { parseClassifierModel } from '../ext-proc/src/classify/model.js';
import { mulberry32 } from '../ext-proc/src/util/mulberry32.js';
import {
  DEFAULT_MIN_LEVEL,
  DEFAULT_TRAIN_OPTIONS,
  asShipped,
  encodeExample,
  parseDataset,
  predict,
  toWeightsFile,
  train,
} from '../ext-proc/src/classify/train.js';
import type { EncodedExample, LabelledExample, TrainOptions, TrainedWeights } from '../ext-proc/src/classify/train.js';
import { fitTemperature, leaveOneBatchOut } from './routing-eval/lobo.js';

export interface Output {
  write(chunk: string): unknown;
}

class UsageError extends Error {}

function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name}: not a number: ${v}`);
  return n;
}

function accuracy(w: TrainedWeights, data: readonly EncodedExample[]): { tier: number; domain: number } {
  let t = 0;
  let d = 0;
  for (const ex of data) {
    const p = predict(w, ex);
    if (p.tier === ex.tier) t++;
    if (p.domain === ex.domain) d++;
  }
  return { tier: t / data.length, domain: d / data.length };
}

/** K-fold cross-validation on the training set (folds drawn with a fixed seed). */
export function crossValidate(data: readonly EncodedExample[], opts: TrainOptions, k: number, minLevel = DEFAULT_MIN_LEVEL): { tier: number; domain: number } {
  const rand = mulberry32(opts.seed ^ 0x51ed270b);
  const fold = data.map(() => Math.floor(rand() * k));
  let t = 0;
  let d = 0;
  for (let f = 0; f < k; f++) {
    const tr = data.filter((_, i) => fold[i] !== f);
    const te = data.filter((_, i) => fold[i] === f);
    if (te.length === 0) continue;
    const w = asShipped(train(tr, opts), minLevel);
    const a = accuracy(w, te);
    t += a.tier * te.length;
    d += a.domain * te.length;
  }
  return { tier: t / data.length, domain: d / data.length };
}

export function trainFromExamples(
  examples: readonly LabelledExample[],
  opts: TrainOptions,
  dataLabel: string,
  dataSha: string,
  minLevel = DEFAULT_MIN_LEVEL,
  calibration?: { tierTemperature: number },
) {
  const encoded = examples.map((e) => encodeExample(e, opts.hashBits));
  const w = train(encoded, opts);
  const acc = accuracy(asShipped(w, minLevel), encoded);
  const file = toWeightsFile(
    w,
    {
      data: dataLabel,
      dataSha256: dataSha,
      examples: examples.length,
      seed: opts.seed,
      epochs: opts.epochs,
      learningRate: opts.learningRate,
      l2: opts.l2,
      minLevel,
      trainTierAccuracy: Number(acc.tier.toFixed(4)),
      trainDomainAccuracy: Number(acc.domain.toFixed(4)),
    },
    minLevel,
    calibration,
  );
  return { file, encoded, weights: w, accuracy: acc };
}

export function main(argv: string[], out: Output): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        out: { type: 'string' },
        cv: { type: 'string' },
        seed: { type: 'string' },
        epochs: { type: 'string' },
        lr: { type: 'string' },
        l2: { type: 'string' },
        bits: { type: 'string' },
        'min-level': { type: 'string' },
        legacy: { type: 'boolean' },
        'no-calibrate': { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const root = repoRoot();
  const dataPath = path.resolve(root, (values.data as string | undefined) ?? 'models/classifier/batches');
  const outPath = path.resolve(root, (values.out as string | undefined) ?? 'models/classifier/weights.json');
  const d = DEFAULT_TRAIN_OPTIONS;
  const opts: TrainOptions = {
    seed: num(values.seed as string | undefined, 'seed', d.seed),
    epochs: num(values.epochs as string | undefined, 'epochs', d.epochs),
    learningRate: num(values.lr as string | undefined, 'lr', d.learningRate),
    l2: num(values.l2 as string | undefined, 'l2', d.l2),
    hashBits: num(values.bits as string | undefined, 'bits', d.hashBits),
  };
  const minLevel = num(values['min-level'] as string | undefined, 'min-level', DEFAULT_MIN_LEVEL);
  const isDir = statSync(dataPath).isDirectory();
  const batches = isDir ? loadBatches(dataPath) : [];
  const hash = createHash('sha256');
  let examples: LabelledExample[];
  if (isDir) {
    for (const b of batches) hash.update(readFileSync(path.join(dataPath, path.basename(b.source))));
    examples = batches.flatMap((b) => b.examples);
  } else {
    const text = readFileSync(dataPath, 'utf8');
    hash.update(text);
    examples = parseDataset(text, path.relative(root, dataPath));
  }
  const legacy = values.legacy ? loadLegacy(path.dirname(dataPath)) : [];
  examples = [...examples, ...legacy];
  const sha = hash.digest('hex');
  let calibration: { tierTemperature: number } | undefined;
  if (isDir && batches.length >= 2 && !values['no-calibrate'] && values.cv === undefined) {
    const scored = leaveOneBatchOut(batches, legacy, opts, (m) => out.write(`calibration: ${m}\n`));
    calibration = { tierTemperature: fitTemperature(scored) };
    out.write(`tier temperature fitted on held-out batches: ${calibration.tierTemperature}\n`);
  }
  const started = performance.now();
  const label = path.relative(root, dataPath) + (values.legacy ? ' + single-author set' : '');
  const { file, encoded, accuracy: acc } = trainFromExamples(examples, opts, label, sha, minLevel, calibration);
  const ms = performance.now() - started;
  out.write(
    `trained on ${examples.length} examples (${path.relative(root, dataPath)}) in ${ms.toFixed(0)} ms: ` +
      `seed ${opts.seed}, ${opts.epochs} epochs, lr ${opts.learningRate}, l2 ${opts.l2}, 2^${opts.hashBits} buckets\n` +
      `training accuracy (shipped, quantised weights): tier ${(acc.tier * 100).toFixed(1)} %, domain ${(acc.domain * 100).toFixed(1)} %\n`,
  );
  if (values.cv !== undefined) {
    const k = num(values.cv as string, 'cv', 5);
    const cv = crossValidate(encoded, opts, k, minLevel);
    out.write(`${k}-fold cross-validation on the training data: tier ${(cv.tier * 100).toFixed(1)} %, domain ${(cv.domain * 100).toFixed(1)} %\n`);
    return 0;
  }
  const json = `${JSON.stringify(file)}\n`;
  parseClassifierModel(JSON.parse(json), outPath); // what we write must load
  writeFileSync(outPath, json);
  out.write(`wrote ${path.relative(root, outPath)}: ${file.hashed.rows} non-zero hashed rows, ${(json.length / 1024).toFixed(0)} KiB\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2), process.stdout);
  } catch (e) {
    process.stderr.write(`train-classifier: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}

/*
 * `npm run train:guard [-- options]`: trains the shipped prompt-injection guard on all the
 * labelled batches (models/guard/batch-*.jsonl) and writes models/guard/weights.json.
 *
 * The L2 penalty and the per-channel thresholds come from leave-one-batch-out scores over the
 * batches (each batch scored by a model trained on the others): the penalty with the best
 * TPR at thresholds that keep the false-positive rate ≤ --max-fpr in each channel, and those
 * thresholds. A model trained on every batch is a little surer of itself than those, so its real
 * false-positive rate is, if anything, lower. `npm run eval:guard` gives the held-out figures.
 *
 *   --data-dir DIR   where batch-*.jsonl are (default models/guard)
 *   --out FILE       weights file to write (default models/guard/weights.json)
 *   --max-fpr X      (default 0.03)
 *   --seed N --epochs N --lr X --bits N   training options (defaults in the weights' "training")
 *
 * Deterministic: same data and options → the same weights file, byte for byte.
 * Exit status: 0 done, 1 failed (message on stderr), 2 usage error.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { parseGuardModel } from '../ext-proc/src/safety/guard/model.js';
import {
  DEFAULT_GUARD_TRAIN_OPTIONS,
  fitShipped,
  type GuardTrainOptions,
  L2_GRID,
  selectOnBatches,
  toGuardWeightsFile,
} from '../ext-proc/src/safety/guard/train.js';
import { loadBatches } from './eval-guard.js';

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

export function main(argv: string[], out: Output): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        out: { type: 'string' },
        'max-fpr': { type: 'string' },
        seed: { type: 'string' },
        epochs: { type: 'string' },
        lr: { type: 'string' },
        bits: { type: 'string' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const root = repoRoot();
  const dataDir = path.resolve(root, (values['data-dir'] as string | undefined) ?? 'models/guard');
  const outPath = path.resolve(root, (values.out as string | undefined) ?? 'models/guard/weights.json');
  const maxFpr = num(values['max-fpr'] as string | undefined, 'max-fpr', 0.03);
  if (!(maxFpr > 0 && maxFpr < 1)) throw new UsageError(`--max-fpr: expected a number in (0, 1), got ${maxFpr}`);
  const d = DEFAULT_GUARD_TRAIN_OPTIONS;
  const opts: GuardTrainOptions = {
    seed: num(values.seed as string | undefined, 'seed', d.seed),
    epochs: num(values.epochs as string | undefined, 'epochs', d.epochs),
    learningRate: num(values.lr as string | undefined, 'lr', d.learningRate),
    l2: d.l2,
    hashBits: num(values.bits as string | undefined, 'bits', d.hashBits),
  };
  const batches = loadBatches(dataDir);
  const sha = createHash('sha256');
  for (const b of batches) sha.update(readFileSync(path.join(dataDir, `batch-${b.name}.jsonl`)));
  const started = performance.now();
  const selection = selectOnBatches(batches, opts, maxFpr, L2_GRID);
  const all = batches.flatMap((b) => b.examples);
  const { weights } = fitShipped(all, { ...opts, l2: selection.l2 });
  const file = toGuardWeightsFile(weights, selection.thresholds, maxFpr, {
    data: batches.map((b) => `models/guard/batch-${b.name}.jsonl`),
    dataSha256: sha.digest('hex'),
    examples: all.length,
    seed: opts.seed,
    epochs: opts.epochs,
    learningRate: opts.learningRate,
    l2: selection.l2,
    l2Candidates: selection.candidates,
    thresholdsFrom: 'leave-one-batch-out scores over all the batches, FPR ≤ maxFpr per channel',
  });
  const ms = performance.now() - started;
  const json = `${JSON.stringify(file)}\n`;
  parseGuardModel(JSON.parse(json), outPath); // what we write must load
  writeFileSync(outPath, json);
  out.write(
    `trained on ${all.length} examples (${batches.map((b) => `batch-${b.name}`).join(', ')}) in ${(ms / 1000).toFixed(1)} s: seed ${opts.seed}, ${opts.epochs} epochs, ` +
      `lr ${opts.learningRate}, L2 ${selection.l2} (out-of-batch TPR by L2: ${selection.candidates.map((c) => `${c.l2} → ${(c.tpr * 100).toFixed(1)} %`).join(', ')}), 2^${opts.hashBits} buckets\n` +
      `thresholds for FPR ≤ ${(maxFpr * 100).toFixed(0)} %: user ${file.thresholds.user}, data ${file.thresholds.data}\n` +
      `wrote ${path.relative(root, outPath)}: ${file.hashed.rows} non-zero hashed weights, ${(json.length / 1024).toFixed(0)} KiB\n`,
  );
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2), process.stdout);
  } catch (e) {
    process.stderr.write(`train-guard: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}

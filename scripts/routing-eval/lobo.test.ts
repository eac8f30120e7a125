import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBatches } from '../../ext-proc/src/classify/batches.js';
import type { Batch } from '../../ext-proc/src/classify/batches.js';
import { DEFAULT_TRAIN_OPTIONS } from '../../ext-proc/src/classify/train.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { cheapestAtRecall, costQualityCurve } from './figures.js';
import { expectedCalibrationError, fitTemperature, leaveOneBatchOut, tierNll } from './lobo.js';
import { makeRouter } from '../eval-routing.js';
import { filterCatalog, loadCatalog } from '../../ext-proc/src/catalog/load.js';

// Three small slices of real batches keep this fast; the real run is `npm run eval:routing`.
const batches: Batch[] = loadBatches(path.join(repoRoot(), 'models', 'classifier', 'batches'))
  .slice(0, 3)
  .map((b) => ({ ...b, examples: b.examples.slice(0, 60) }));
const opts = { ...DEFAULT_TRAIN_OPTIONS, epochs: 4 };
const scored = leaveOneBatchOut(batches, [], opts);

describe('leave-one-batch-out', () => {
  it('scores every request of every batch once, each by the model trained without its batch', () => {
    expect(scored).toHaveLength(batches.reduce((n, b) => n + b.examples.length, 0));
    for (const b of batches) expect(scored.filter((s) => s.batch === b.name).map((s) => s.ex.id)).toEqual(b.examples.map((e) => e.id));
    // A model that had seen the batch would score it far better than chance on its own items;
    // held out, the same items are scored worse than by a model trained on them (memorisation).
    const seen = leaveOneBatchOut(
      [
        { ...batches[0]!, name: 'x' },
        { ...batches[0]!, name: 'y', examples: batches[0]!.examples },
      ],
      [],
      opts,
    );
    const acc = (list: typeof scored) =>
      list.filter((s) => s.tierLogits.indexOf(Math.max(...s.tierLogits)) === ['simple', 'medium', 'complex'].indexOf(s.ex.tier)).length / list.length;
    expect(acc(seen)).toBeGreaterThan(acc(scored.filter((s) => s.batch === batches[0]!.name)));
  });

  it('fits a temperature no worse than none, and calibration error reported', () => {
    const t = fitTemperature(scored);
    expect(tierNll(scored, t)).toBeLessThanOrEqual(tierNll(scored, 1));
    expect(expectedCalibrationError(scored, t)).toBeGreaterThanOrEqual(0);
  });

  it('sweeps the threshold from all-premium to all-cheap: cost and complex recall fall together', () => {
    const catalog = filterCatalog(loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml')), (p) => p.apiKeyEnv !== undefined);
    const curve = costQualityCurve(scored, 1, makeRouter(catalog), 0.1);
    expect(curve[0]!.recallComplex).toBe(1);
    expect(curve[0]!.costShare).toBeCloseTo(1, 5);
    expect(curve.at(-1)!.recallComplex).toBeLessThan(0.2);
    for (let i = 1; i < curve.length; i++) expect(curve[i]!.costUsd).toBeLessThanOrEqual(curve[i - 1]!.costUsd + 1e-12);
    expect(cheapestAtRecall(curve, 0.95)!.recallComplex).toBeGreaterThanOrEqual(0.95);
  });
});

/**
 * Latency distributions in microseconds. A distribution is a bag of (value, weight) points:
 * raw samples from the Node clients have weight 1; a wrk run contributes its quantile function
 * (QUANTILE_POINTS mid-quantiles, each weighing requests / QUANTILE_POINTS), which lets rounds
 * be pooled into one distribution instead of averaging percentiles.
 */

/** wrk reports this many mid-quantiles per run ((i - 0.5) / N for i = 1..N). */
export const QUANTILE_POINTS = 1000;

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export class Dist {
  private values: number[] = [];
  private weights: number[] = [];
  private sorted = true;
  private max = 0;

  addSamples(samples: readonly number[]): this {
    for (const v of samples) this.push(v, 1);
    return this;
  }

  /** Adds a run summarised by its mid-quantiles, weighted by the run's request count. */
  addQuantiles(quantiles: readonly number[], count: number, max: number): this {
    if (quantiles.length === 0 || count <= 0) return this;
    const w = count / quantiles.length;
    for (const v of quantiles) this.push(v, w);
    this.max = Math.max(this.max, max);
    return this;
  }

  addDist(other: Dist): this {
    for (let i = 0; i < other.values.length; i++) this.push(other.values[i]!, other.weights[i]!);
    this.max = Math.max(this.max, other.max);
    return this;
  }

  get count(): number {
    let n = 0;
    for (const w of this.weights) n += w;
    return Math.round(n);
  }

  private push(v: number, w: number): void {
    const last = this.values[this.values.length - 1];
    if (last !== undefined && v < last) this.sorted = false;
    this.values.push(v);
    this.weights.push(w);
    if (v > this.max) this.max = v;
  }

  private sort(): void {
    if (this.sorted) return;
    const idx = this.values.map((_, i) => i).sort((a, b) => this.values[a]! - this.values[b]!);
    this.values = idx.map((i) => this.values[i]!);
    this.weights = idx.map((i) => this.weights[i]!);
    this.sorted = true;
  }

  /** Nearest-rank percentile (0 < p <= 100) of the weighted distribution. */
  percentile(p: number): number {
    if (this.values.length === 0) return NaN;
    this.sort();
    let total = 0;
    for (const w of this.weights) total += w;
    const rank = (p / 100) * total;
    let acc = 0;
    for (let i = 0; i < this.values.length; i++) {
      acc += this.weights[i]!;
      if (acc >= rank - 1e-9) return this.values[i]!;
    }
    return this.values[this.values.length - 1]!;
  }

  mean(): number {
    let total = 0;
    let sum = 0;
    for (let i = 0; i < this.values.length; i++) {
      total += this.weights[i]!;
      sum += this.values[i]! * this.weights[i]!;
    }
    return total > 0 ? sum / total : NaN;
  }

  summary(): Percentiles {
    return {
      count: this.count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.max,
      mean: this.mean(),
    };
  }
}

/** Microseconds to milliseconds with 3 decimals (the unit every table and JSON field uses). */
export function ms(us: number): number {
  return Math.round(us) / 1000;
}

/** A percentile summary converted to milliseconds. */
export function summaryMs(p: Percentiles): Percentiles {
  return { count: p.count, p50: ms(p.p50), p90: ms(p.p90), p99: ms(p.p99), p999: ms(p.p999), max: ms(p.max), mean: ms(p.mean) };
}

/**
 * What one variant of a canary did over the last `windowMs`: call and error counts and a latency
 * histogram, kept in a ring of time buckets so old samples fall out without storing any sample.
 *
 * Cost: `add` is O(log bins) (a binary search for the latency bin) plus, at most once per bucket
 * width, O(bins) to retire the bucket the ring reuses. The window's sums are kept running, so the
 * counts are O(1) to read and a quantile is one O(bins) scan, whatever the window's length.
 *
 * The window slides a bucket at a time: it holds the current bucket and the `buckets - 1` before
 * it, so it covers between `windowMs - bucketMs` and `windowMs` of history. Up to 60 buckets
 * (1 s each for windows up to a minute), so a longer window costs no more memory, only coarser steps.
 */

/** Ratio between neighbouring histogram bounds: 2^(1/8), about 9 % wider per bin. */
export const BIN_RATIO = 2 ** (1 / 8);
/** The lowest bound; every call faster than this lands in the first bin. */
export const MIN_BOUND_MS = 1;
/** 2^20 ms, about 17.5 minutes: longer calls all land in the last, open bin. */
export const MAX_BOUND_MS = 2 ** 20;
const MAX_BUCKETS = 60;

/**
 * Upper bounds of the latency bins, log-spaced from 1 ms to about 17.5 min, plus `exact` ones
 * (the SLO threshold) so that "how many calls were slower than the threshold" is exact, not an
 * estimate. Bin i holds latencies in (bounds[i-1], bounds[i]]; one more bin above the last bound.
 */
export function latencyBounds(exact: readonly number[] = []): Float64Array {
  const steps = Math.round(Math.log(MAX_BOUND_MS / MIN_BOUND_MS) / Math.log(BIN_RATIO));
  const all: number[] = [];
  for (let i = 0; i <= steps; i++) all.push(MIN_BOUND_MS * BIN_RATIO ** i);
  for (const e of exact) if (Number.isFinite(e) && e > 0) all.push(e);
  all.sort((a, b) => a - b);
  // An exact bound a hair away from a log bound would make a sliver of a bin; drop the log one.
  const out: number[] = [];
  for (const b of all) {
    const last = out[out.length - 1];
    if (last !== undefined && b / last < 1 + 1e-9) {
      if (exact.includes(b)) out[out.length - 1] = b;
      continue;
    }
    out.push(b);
  }
  return Float64Array.from(out);
}

/** Index of the bin holding `ms`: the first bound >= ms, or the open bin past the last bound. */
export function binOf(bounds: Float64Array, ms: number): number {
  let lo = 0;
  let hi = bounds.length; // the open bin
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ms <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Counts over the window. `ok` calls are the ones whose latency is in the histogram. */
export interface WindowCounts {
  total: number;
  errors: number;
  ok: number;
  /** Ok calls slower than the window's threshold. */
  slow: number;
}

export class LatencyWindow {
  readonly bucketMs: number;
  private readonly buckets: number;
  private readonly bins: number;
  private readonly hist: Uint32Array;
  private readonly total: Uint32Array;
  private readonly errors: Uint32Array;
  private readonly slow: Uint32Array;
  private readonly sumHist: Float64Array;
  private sumTotal = 0;
  private sumErrors = 0;
  private sumSlow = 0;
  private epoch: number;

  /**
   * `bounds` from {@link latencyBounds}; `thresholdMs` should be one of them for the slow count to
   * be exact (it is counted as `latency > thresholdMs` either way).
   */
  constructor(
    private readonly bounds: Float64Array,
    private readonly thresholdMs: number,
    windowMs: number,
    now: number,
  ) {
    this.buckets = Math.max(1, Math.min(MAX_BUCKETS, Math.ceil(windowMs / 1000)));
    this.bucketMs = windowMs / this.buckets;
    this.bins = bounds.length + 1;
    this.hist = new Uint32Array(this.buckets * this.bins);
    this.total = new Uint32Array(this.buckets);
    this.errors = new Uint32Array(this.buckets);
    this.slow = new Uint32Array(this.buckets);
    this.sumHist = new Float64Array(this.bins);
    this.epoch = Math.floor(now / this.bucketMs);
  }

  add(now: number, latencyMs: number, ok: boolean): void {
    this.advance(now);
    const slot = this.epoch % this.buckets;
    this.total[slot]!++;
    this.sumTotal++;
    if (!ok) {
      this.errors[slot]!++;
      this.sumErrors++;
      return;
    }
    // A NaN or negative latency is a caller's bug; count the call rather than lose it.
    const ms = latencyMs > 0 ? latencyMs : 0;
    const bin = binOf(this.bounds, ms);
    this.hist[slot * this.bins + bin]!++;
    this.sumHist[bin]!++;
    if (ms > this.thresholdMs) {
      this.slow[slot]!++;
      this.sumSlow++;
    }
  }

  counts(now: number): WindowCounts {
    this.advance(now);
    return { total: this.sumTotal, errors: this.sumErrors, ok: this.sumTotal - this.sumErrors, slow: this.sumSlow };
  }

  /** Ok calls in the window (allocation-free form of `counts(now).ok`). */
  okCount(now: number): number {
    this.advance(now);
    return this.sumTotal - this.sumErrors;
  }

  totalCount(now: number): number {
    this.advance(now);
    return this.sumTotal;
  }

  errorCount(now: number): number {
    this.advance(now);
    return this.sumErrors;
  }

  slowCount(now: number): number {
    this.advance(now);
    return this.sumSlow;
  }

  /**
   * Estimate of the q-quantile (nearest rank) of the ok calls' latency, undefined without any.
   *
   * Error bound: the true nearest-rank quantile lies in the bin this returns a point of, and a
   * bin's bounds are at most BIN_RATIO apart, so the geometric midpoint returned is within a
   * factor sqrt(BIN_RATIO) = 2^(1/16) of it: at most 4.4 % off. Two edge bins differ: the first
   * returns 1 ms for anything at or below 1 ms, and the open last bin returns its lower bound
   * (about 17.5 min) for anything above it.
   */
  quantile(now: number, q: number): number | undefined {
    this.advance(now);
    const n = this.sumTotal - this.sumErrors;
    if (n <= 0) return undefined;
    const rank = nearestRank(n, q);
    let seen = 0;
    for (let i = 0; i < this.bins; i++) {
      seen += this.sumHist[i]!;
      if (seen >= rank) return this.binPoint(i);
    }
    return this.binPoint(this.bins - 1);
  }

  clear(now: number): void {
    this.hist.fill(0);
    this.total.fill(0);
    this.errors.fill(0);
    this.slow.fill(0);
    this.sumHist.fill(0);
    this.sumTotal = this.sumErrors = this.sumSlow = 0;
    this.epoch = Math.floor(now / this.bucketMs);
  }

  private binPoint(i: number): number {
    const bounds = this.bounds;
    if (i === 0) return bounds[0]!;
    if (i >= bounds.length) return bounds[bounds.length - 1]!;
    return Math.sqrt(bounds[i - 1]! * bounds[i]!);
  }

  /** Retires the buckets that fell out of the window since the last call. */
  private advance(now: number): void {
    const e = Math.floor(now / this.bucketMs);
    // A clock stepping back keeps writing into the current bucket rather than rewriting history.
    if (!(e > this.epoch)) return;
    if (e - this.epoch >= this.buckets) {
      this.clear(now);
      return;
    }
    for (let k = this.epoch + 1; k <= e; k++) this.retire(k % this.buckets);
    this.epoch = e;
  }

  private retire(slot: number): void {
    if (this.total[slot] === 0) return;
    this.sumTotal -= this.total[slot]!;
    this.sumErrors -= this.errors[slot]!;
    this.sumSlow -= this.slow[slot]!;
    const base = slot * this.bins;
    for (let i = 0; i < this.bins; i++) {
      const c = this.hist[base + i]!;
      if (c !== 0) {
        this.sumHist[i]! -= c;
        this.hist[base + i] = 0;
      }
    }
    this.total[slot] = this.errors[slot] = this.slow[slot] = 0;
  }
}

/**
 * Nearest-rank position of the q-quantile among n samples: ceil(q·n), at least 1. The epsilon
 * keeps a product that floating point puts a hair above an integer (0.07 × 100) at that integer.
 */
export function nearestRank(n: number, q: number): number {
  return Math.max(1, Math.ceil(q * n - 1e-9));
}

import { hash32 } from './hrw.js';
import { learnCapacity, type Capacity } from './score.js';
import type { VllmLoad } from './vllm-metrics.js';

/** Weight of one finished request in the service-time average (about the last 10 count). */
const SERVICE_WEIGHT = 0.1;

/**
 * One endpoint of a pool: what this process has sent it, and what its server last said about
 * itself.
 *
 * In-flight requests carry the scrape generation they began in. A scrape starting opens a new
 * generation, so when it succeeds, the requests of older generations are in the numbers it read
 * and the ones of its own generation or later are not: those are `unseen`, and the picker adds
 * them to the server's own count so that a burst between two scrapes spreads instead of piling
 * onto whichever endpoint looked idlest.
 */
export class Member {
  readonly seed: number;
  inFlight = 0;
  unseen = 0;
  private gen = 0;
  private seenGen = 0;
  /** In-flight requests per generation; a handful of entries (request duration / poll period). */
  private readonly byGen = new Map<number, number>();

  load: VllmLoad | undefined;
  /**
   * Seconds a request spends being served here, queue excluded: a moving average over the
   * requests that finished between scrapes. Undefined until some have.
   */
  serviceSeconds: number | undefined;
  lastOkAt: number | undefined;
  /** Consecutive failed scrapes. */
  failures = 0;
  capacity: Capacity;
  /** Answered "busy" (503): ordered last until then (ms since epoch; 0 = never). */
  fullUntil = 0;
  scraping: Promise<void> | undefined;
  /** Picks that chose this endpoint first, per reason index. */
  readonly picks: number[];

  constructor(
    readonly key: string,
    readonly metricsUrl: string,
    slots: number,
    confirmed: boolean,
    reasons: number,
  ) {
    this.seed = hash32(key);
    this.capacity = { slots, confirmed, queued: false };
    this.picks = new Array<number>(reasons).fill(0);
  }

  begin(): number {
    this.inFlight++;
    this.unseen++;
    this.byGen.set(this.gen, (this.byGen.get(this.gen) ?? 0) + 1);
    return this.gen;
  }

  end(gen: number): void {
    this.inFlight--;
    if (gen >= this.seenGen) this.unseen--;
    const left = (this.byGen.get(gen) ?? 1) - 1;
    if (left > 0) this.byGen.set(gen, left);
    else this.byGen.delete(gen);
  }

  /** Marks the start of a scrape; returns its generation, to hand back to `scraped`. */
  scrapeStarting(): number {
    return ++this.gen;
  }

  scraped(gen: number, load: VllmLoad, now: number): void {
    this.learnServiceTime(this.load, load);
    this.load = load;
    this.lastOkAt = now;
    this.failures = 0;
    this.capacity = learnCapacity(this.capacity, load.running, load.waiting);
    this.seenGen = gen;
    let unseen = 0;
    for (const [g, n] of this.byGen) if (g >= gen) unseen += n;
    this.unseen = unseen;
  }

  private learnServiceTime(before: VllmLoad | undefined, after: VllmLoad): void {
    if (!before?.e2e || !after.e2e) return;
    const finished = after.e2e.count - before.e2e.count;
    const e2e = after.e2e.sum - before.e2e.sum;
    // Nothing finished, or the counters went back (a restarted server): nothing to learn.
    if (!(finished > 0) || !(e2e >= 0)) return;
    let queued = before.queue && after.queue ? after.queue.sum - before.queue.sum : 0;
    if (!(queued >= 0) || queued > e2e) queued = 0;
    const sample = (e2e - queued) / finished;
    // Each finished request weighs SERVICE_WEIGHT, so a scrape that saw many moves it further.
    const w = 1 - (1 - SERVICE_WEIGHT) ** finished;
    this.serviceSeconds = this.serviceSeconds === undefined ? sample : this.serviceSeconds + w * (sample - this.serviceSeconds);
  }

  scrapeFailed(): void {
    this.failures++;
  }

  fresh(now: number, staleAfterMs: number): boolean {
    return this.lastOkAt !== undefined && now - this.lastOkAt <= staleAfterMs;
  }
}

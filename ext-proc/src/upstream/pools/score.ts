/**
 * Load scores: lower is better, in units of "one endpoint's worth of slots". An endpoint with
 * every slot busy and nothing queued scores 1; a queued request costs QUEUE_WEIGHT slots, because
 * it waits for a whole request to finish before its first token, while one more running request
 * only slows the batch's decoding a little.
 */

export const QUEUE_WEIGHT = 4;
/** Below this KV-cache usage the cache costs nothing; above it new sequences start to wait or preempt. */
export const KV_SOFT_LIMIT = 0.8;

/**
 * `running` requests occupy slots up to `capacity`; everything `waiting` is queued, and so are
 * running requests beyond the capacity when it is `confirmed` (seen saturated). An unconfirmed
 * capacity is only a guess, so overflowing it counts as more running, not as a queue.
 */
export function loadScore(running: number, waiting: number, capacity: number, confirmed = true): number {
  const cap = capacity > 0 ? capacity : 1;
  if (!confirmed) return (running + QUEUE_WEIGHT * waiting) / cap;
  const busy = running < cap ? running : cap;
  const queued = waiting + (running > cap ? running - cap : 0);
  return (busy + QUEUE_WEIGHT * queued) / cap;
}

/** 0 up to KV_SOFT_LIMIT, rising linearly to 1 at a full cache: a full cache is as bad as a full batch. */
export function kvPenalty(usage: number | undefined): number {
  if (usage === undefined || usage <= KV_SOFT_LIMIT) return 0;
  return Math.min(1, (usage - KV_SOFT_LIMIT) / (1 - KV_SOFT_LIMIT));
}

/**
 * How many sequences a vLLM server runs at once is not in its metrics, so it is learnt: while
 * requests keep waiting, the scheduler is admitting all it can, and `running` is the capacity
 * right now (max_num_seqs, or fewer when the KV cache is the limit). A queue seen on one scrape
 * only may be a request that arrived between two scheduler steps, so it takes two in a row.
 * Otherwise the capacity is at least what is running.
 */
export function learnCapacity(previous: Capacity, running: number, waiting: number): Capacity {
  const queued = waiting > 0;
  if (queued && previous.queued && running > 0) return { slots: running, confirmed: true, queued };
  const slots = running > previous.slots ? running : previous.slots;
  return { slots, confirmed: previous.confirmed, queued };
}

export interface Capacity {
  slots: number;
  /** Seen saturated: `slots` is a measurement, not the configured guess. */
  confirmed: boolean;
  /** The last scrape showed a queue. */
  queued: boolean;
}

/**
 * The engine scheduler of one vLLM server, as the simulator models it.
 *
 * A pool picker is only worth testing against the constraints that make a GPU endpoint slow or
 * full, so those are the ones kept:
 *
 *  - at most `maxNumSeqs` sequences run at once (vLLM's --max-num-seqs);
 *  - a running sequence holds KV cache for its prompt plus its output; one that does not fit
 *    waits, and so does everything behind it, as vLLM's scheduler stops at the first request
 *    it cannot allocate;
 *  - at most `maxLoras` adapters are resident; a sequence for an adapter that is not resident
 *    loads it (evicting the least recently used adapter no running sequence needs), and when
 *    every resident adapter is in use it is passed over, so later requests for the base model
 *    or for resident adapters go first, as vLLM skips requests that would exceed max_loras;
 *  - beyond `maxQueue` waiting sequences new ones are refused.
 *
 * KV is reserved whole at admission, so a running sequence never runs out of cache and is
 * never preempted. The clock is injectable so the rules can be tested without real time.
 */

export interface SchedulerOptions {
  maxNumSeqs: number;
  maxQueue: number;
  kvCacheTokens: number;
  maxLoras: number;
  loraLoadMs: number;
  /** Milliseconds, monotonic. */
  now?: () => number;
}

export interface SeqSpec {
  /** KV cache the sequence holds while it runs: prompt plus output tokens. */
  kvTokens: number;
  /** LoRA adapter the sequence runs with; undefined for the base model. */
  adapter?: string | undefined;
}

export interface Grant {
  /** When the sequence's adapter is resident (scheduler clock); the admission time otherwise. */
  readyAt: number;
  /** Frees the slot, the KV cache and the adapter; only the first call counts. */
  release(): void;
}

/** A queued sequence: `granted` resolves once it runs, or with undefined if aborted first. */
export interface Ticket {
  granted: Promise<Grant | undefined>;
}

interface Seq {
  spec: SeqSpec;
  grant: (g: Grant | undefined) => void;
  detach: () => void;
}

interface Adapter {
  readyAt: number;
  /** Running sequences using it; an adapter in use is never evicted. */
  users: number;
}

export class Scheduler {
  private readonly opts: Required<SchedulerOptions>;
  private readonly queue: Seq[] = [];
  private runningSeqs = 0;
  private kvUsed = 0;
  /** Resident adapters, least recently used first (Map keeps insertion order). */
  private readonly adapters = new Map<string, Adapter>();

  constructor(opts: SchedulerOptions) {
    for (const key of ['maxNumSeqs', 'kvCacheTokens', 'maxLoras'] as const) {
      const v = opts[key];
      if (!Number.isInteger(v) || v < 1) throw new Error(`${key} must be a positive integer, got ${v}`);
    }
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new Error(`maxQueue must be a non-negative integer, got ${opts.maxQueue}`);
    if (!(opts.loraLoadMs >= 0)) throw new Error(`loraLoadMs must be non-negative, got ${opts.loraLoadMs}`);
    this.opts = { ...opts, now: opts.now ?? (() => performance.now()) };
  }

  running(): number {
    return this.runningSeqs;
  }

  waiting(): number {
    return this.queue.length;
  }

  /** Share of the KV cache held by running sequences, 0..1. */
  kvUsage(): number {
    return this.kvUsed / this.opts.kvCacheTokens;
  }

  /** Resident (or loading) adapters, least recently used first. */
  loadedAdapters(): string[] {
    return [...this.adapters.keys()];
  }

  /** Adapters of running sequences. */
  runningAdapters(): string[] {
    const names: string[] = [];
    for (const [name, a] of this.adapters) if (a.users > 0) names.push(name);
    return names;
  }

  /** Adapters waiting sequences ask for, in queue order, each once. */
  waitingAdapters(): string[] {
    const names = new Set<string>();
    for (const s of this.queue) if (s.spec.adapter !== undefined) names.add(s.spec.adapter);
    return [...names];
  }

  /**
   * Queues a sequence, or answers 'busy' when `maxQueue` are already waiting. Aborting `signal`
   * while the sequence waits takes it out of the queue.
   */
  submit(spec: SeqSpec, signal?: AbortSignal): Ticket | 'busy' {
    if (!(spec.kvTokens >= 0) || spec.kvTokens > this.opts.kvCacheTokens) {
      // It would block the head of the queue forever; callers reject such requests up front.
      throw new Error(`a sequence of ${spec.kvTokens} tokens can never fit a KV cache of ${this.opts.kvCacheTokens}`);
    }
    if (signal?.aborted) return { granted: Promise.resolve(undefined) };
    let seq!: Seq;
    const granted = new Promise<Grant | undefined>((resolve) => {
      const onAbort = (): void => {
        const at = this.queue.indexOf(seq);
        if (at < 0) return;
        this.queue.splice(at, 1);
        resolve(undefined);
        // The aborted one may have been the head that blocked the rest.
        this.schedule();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      seq = {
        spec,
        grant: resolve,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
    });
    this.queue.push(seq);
    this.schedule();
    const at = this.queue.indexOf(seq);
    if (at >= 0 && this.queue.length > this.opts.maxQueue) {
      this.queue.splice(at, 1);
      seq.detach();
      return 'busy';
    }
    return { granted };
  }

  private schedule(): void {
    const now = this.opts.now();
    let i = 0;
    while (i < this.queue.length && this.runningSeqs < this.opts.maxNumSeqs) {
      const seq = this.queue[i] as Seq;
      const adapter = seq.spec.adapter;
      if (adapter !== undefined && !this.canHost(adapter)) {
        i++;
        continue;
      }
      if (this.kvUsed + seq.spec.kvTokens > this.opts.kvCacheTokens) break;
      this.queue.splice(i, 1);
      seq.detach();
      seq.grant(this.admit(seq.spec, now));
    }
  }

  private canHost(name: string): boolean {
    if (this.adapters.has(name) || this.adapters.size < this.opts.maxLoras) return true;
    for (const a of this.adapters.values()) if (a.users === 0) return true;
    return false;
  }

  private admit(spec: SeqSpec, now: number): Grant {
    this.runningSeqs++;
    this.kvUsed += spec.kvTokens;
    let readyAt = now;
    const name = spec.adapter;
    if (name !== undefined) {
      let a = this.adapters.get(name);
      if (a === undefined) {
        if (this.adapters.size >= this.opts.maxLoras) this.evictOne();
        a = { readyAt: now + this.opts.loraLoadMs, users: 0 };
      } else {
        this.adapters.delete(name);
      }
      this.adapters.set(name, a);
      a.users++;
      readyAt = Math.max(now, a.readyAt);
    }
    let released = false;
    return {
      readyAt,
      release: () => {
        if (released) return;
        released = true;
        this.runningSeqs--;
        this.kvUsed -= spec.kvTokens;
        if (name !== undefined) {
          const a = this.adapters.get(name);
          if (a !== undefined) {
            a.users--;
            this.adapters.delete(name);
            this.adapters.set(name, a);
          }
        }
        this.schedule();
      },
    };
  }

  private evictOne(): void {
    for (const [name, a] of this.adapters) {
      if (a.users === 0) {
        this.adapters.delete(name);
        return;
      }
    }
  }
}

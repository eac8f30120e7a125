import { z } from 'zod';
import { endpointAddress } from './address.js';
import { hash32, hrwWeight } from './hrw.js';
import { Member } from './member.js';
import { kvPenalty, loadScore } from './score.js';
import { parseVllmMetrics } from './vllm-metrics.js';

export type PoolKind = 'vllm' | 'ollama';

export interface PoolEndpointConfig {
  url: string;
}

export interface PoolOptions {
  name: string;
  kind: PoolKind;
  endpoints: PoolEndpointConfig[];
  /** vLLM /metrics scrape period, default 1000. */
  pollIntervalMs?: number;
  /** Metrics older than this are ignored, default 3 * pollIntervalMs. Also the scrape timeout. */
  staleAfterMs?: number;
  /** Capacity guess when metrics are missing (Ollama), default 1 (Ollama) / 8 (vLLM). */
  slotsPerEndpoint?: number;
  /** The affinity endpoint keeps a request while its score is at most this much above the best; default 0.5. */
  affinitySlack?: number;
  /** An endpoint running the requested LoRA adapter is preferred while at most this much above the best; default 1. */
  adapterSlack?: number;
  /** How long an endpoint that answered 503 goes last, default 2000. */
  busyMs?: number;
  /** Scale vLLM scores by each endpoint's measured service time against the fastest's; default true. */
  weighServiceTime?: boolean;
  fetchImpl?: typeof fetch;
  now?: () => number;
}

/** `model` is the base model or the LoRA adapter's name; `affinityKey` a hash of the conversation prefix. */
export interface PickRequest {
  model: string;
  affinityKey?: string;
}

export interface Pick {
  /** Every endpoint as `ip:port`, best first: the first attempt, then Envoy's retry order. */
  endpoints: string[];
  reason: PickReason;
}

export const PICK_REASONS = ['least-loaded', 'adapter-loaded', 'affinity', 'least-in-flight', 'stale-metrics:least-in-flight', 'all-full'] as const;
export type PickReason = (typeof PICK_REASONS)[number];
const R = Object.fromEntries(PICK_REASONS.map((r, i) => [r, i])) as Record<PickReason, number>;

export interface EndpointSnapshot {
  endpoint: string;
  inFlight: number;
  running?: number;
  waiting?: number;
  kvCacheUsage?: number;
  adapters?: string[];
  fresh: boolean;
  fullUntil?: number;
  /** vLLM: mean seconds a request is served here, queue excluded (recent requests). */
  serviceSeconds?: number;
}

export type Outcome = { status: number; busy?: boolean };

const OptionsSchema = z.object({
  name: z.string().min(1),
  kind: z.enum(['vllm', 'ollama']),
  endpoints: z.array(z.object({ url: z.string().min(1) })).min(1, 'a pool needs at least one endpoint'),
  pollIntervalMs: z.number().int().positive().optional(),
  staleAfterMs: z.number().int().positive().optional(),
  slotsPerEndpoint: z.number().int().positive().optional(),
  affinitySlack: z.number().min(0).optional(),
  adapterSlack: z.number().min(0).optional(),
  busyMs: z.number().int().min(0).optional(),
  weighServiceTime: z.boolean().optional(),
});

/** Tiers, best first: healthy, failing its scrapes, refusing work. */
const HEALTHY = 0;
const FAILING = 1;
const FULL = 2;
/** Consecutive failed scrapes that move an endpoint behind the healthy ones. */
const FAILING_AFTER = 2;
/** Slowness beyond this many times the fastest endpoint's is not told apart (one odd average must not exile an endpoint). */
const MAX_SLOWNESS = 10;

const NOOP = (): void => undefined;

/**
 * The endpoints of one pool and the choice among them. `pick` reads only what the poller and
 * `begin` left in memory; `begin` and its end callback are counter updates.
 */
export class EndpointPool {
  readonly name: string;
  readonly kind: PoolKind;
  private readonly members: Member[];
  private readonly byKey = new Map<string, Member>();
  private readonly pollIntervalMs: number;
  private readonly staleAfterMs: number;
  private readonly affinitySlack: number;
  private readonly adapterSlack: number;
  private readonly busyMs: number;
  private readonly weighServiceTime: boolean;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private readonly aborts = new Set<AbortController>();

  // Per-pick scratch space, allocated once: a pick allocates only its answer.
  private readonly scores: Float64Array;
  private readonly tiers: Uint8Array;
  private readonly fresh: Uint8Array;
  private readonly order: number[];
  private rotation = 0;
  private readonly byRank = (a: number, b: number): number => {
    const n = this.members.length;
    return this.tiers[a]! - this.tiers[b]! || this.scores[a]! - this.scores[b]! || ((a - this.rotation + n) % n) - ((b - this.rotation + n) % n);
  };

  constructor(o: PoolOptions) {
    const v = OptionsSchema.parse(o);
    this.name = v.name;
    this.kind = v.kind;
    this.pollIntervalMs = v.pollIntervalMs ?? 1000;
    this.staleAfterMs = v.staleAfterMs ?? 3 * this.pollIntervalMs;
    this.affinitySlack = v.affinitySlack ?? 0.5;
    this.adapterSlack = v.adapterSlack ?? 1;
    this.busyMs = v.busyMs ?? 2000;
    this.weighServiceTime = v.kind === 'vllm' && (v.weighServiceTime ?? true);
    this.fetchImpl = o.fetchImpl ?? fetch;
    this.now = o.now ?? Date.now;
    const slots = v.slotsPerEndpoint ?? (v.kind === 'ollama' ? 1 : 8);
    // Ollama's parallelism is configured, not learnt, so its slot count is taken as fact.
    const confirmed = v.kind === 'ollama';
    this.members = v.endpoints.map(({ url }) => {
      const a = endpointAddress(url);
      if (this.byKey.has(a.key)) throw new Error(`pool ${v.name}: endpoint ${a.key} is listed twice`);
      const m = new Member(a.key, a.metricsUrl, slots, confirmed, PICK_REASONS.length);
      this.byKey.set(a.key, m);
      return m;
    });
    const n = this.members.length;
    this.scores = new Float64Array(n);
    this.tiers = new Uint8Array(n);
    this.fresh = new Uint8Array(n);
    this.order = this.members.map((_, i) => i);
  }

  /** Endpoint keys (`ip:port`) in configuration order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.key);
  }

  /** Starts scraping vLLM metrics (now, then every pollIntervalMs); Ollama pools have nothing to poll. */
  start(): void {
    if (this.kind !== 'vllm' || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.pollIntervalMs);
    this.timer.unref();
    void this.refresh();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const ac of this.aborts) ac.abort();
    await Promise.all(this.members.map((m) => m.scraping));
  }

  /** Scrapes every endpoint once (an endpoint still being scraped is not asked twice). */
  refresh(): Promise<void> {
    return Promise.all(this.members.map((m) => this.scrape(m))).then(NOOP);
  }

  private scrape(m: Member): Promise<void> {
    if (m.scraping) return m.scraping;
    const gen = m.scrapeStarting();
    const ac = new AbortController();
    this.aborts.add(ac);
    const timer = setTimeout(() => ac.abort(), this.staleAfterMs);
    timer.unref();
    m.scraping = (async () => {
      try {
        const res = await this.fetchImpl(m.metricsUrl, { signal: ac.signal });
        if (!res.ok) {
          await res.body?.cancel().catch(NOOP);
          throw new Error(`HTTP ${res.status}`);
        }
        m.scraped(gen, parseVllmMetrics(await res.text()), this.now());
      } catch {
        // A failed scrape only ages the endpoint's numbers; the picker falls back on its own counts.
        m.scrapeFailed();
      } finally {
        clearTimeout(timer);
        this.aborts.delete(ac);
        m.scraping = undefined;
      }
    })();
    return m.scraping;
  }

  pick(r: PickRequest): Pick {
    const ms = this.members;
    const n = ms.length;
    this.rank(this.now());
    const order = this.order;

    // The primary comes from the best tier present; lower tiers only follow as retries.
    const tier = this.tiers[order[0]!]!;
    let top = 1;
    while (top < n && this.tiers[order[top]!] === tier) top++;
    let chosen = order[0]!;
    let reason: PickReason | undefined;

    const holder = this.kind === 'vllm' ? this.adapterHolder(top, r.model) : -1;
    if (holder >= 0 && this.scores[holder]! <= this.scores[chosen]! + this.adapterSlack) {
      chosen = holder;
      reason = 'adapter-loaded';
    }
    if (r.affinityKey !== undefined && r.affinityKey !== '') {
      const home = this.home(top, hash32(r.affinityKey), reason === 'adapter-loaded' ? r.model : undefined);
      if (home >= 0 && this.scores[home]! <= this.scores[chosen]! + this.affinitySlack) {
        chosen = home;
        reason = 'affinity';
      }
    }
    reason ??= tier === FULL ? 'all-full' : !this.fresh[chosen] ? (this.kind === 'vllm' ? 'stale-metrics:least-in-flight' : 'least-in-flight') : 'least-loaded';
    ms[chosen]!.picks[R[reason]]!++;

    const endpoints = new Array<string>(n);
    endpoints[0] = ms[chosen]!.key;
    for (let k = 0, j = 1; k < n; k++) if (order[k] !== chosen) endpoints[j++] = ms[order[k]!]!.key;
    return { endpoints, reason };
  }

  /** Scores every endpoint into the scratch arrays and sorts `order` by tier, then score. */
  private rank(now: number): void {
    const ms = this.members;
    const n = ms.length;
    let fastest = Infinity;
    if (this.weighServiceTime)
      for (const m of ms) if (m.serviceSeconds !== undefined && m.serviceSeconds > 0 && m.serviceSeconds < fastest) fastest = m.serviceSeconds;
    for (let i = 0; i < n; i++) {
      const m = ms[i]!;
      const cap = m.capacity;
      const fresh = this.kind === 'vllm' && m.load !== undefined && m.fresh(now, this.staleAfterMs);
      this.fresh[i] = fresh ? 1 : 0;
      let score = fresh
        ? loadScore(m.load!.running + m.unseen, m.load!.waiting, cap.slots, cap.confirmed) + kvPenalty(m.load!.kvCacheUsage)
        : loadScore(m.inFlight, 0, cap.slots, cap.confirmed);
      // A request here takes about (1 + score) of this endpoint's service times; measured in the
      // fastest endpoint's, an idle endpoint twice as slow is as bad as a fast one with a full batch.
      if (fastest < Infinity && m.serviceSeconds !== undefined && m.serviceSeconds > fastest) {
        score = Math.min(MAX_SLOWNESS, m.serviceSeconds / fastest) * (1 + score) - 1;
      }
      this.scores[i] = score;
      this.tiers[i] = m.fullUntil > now ? FULL : m.failures >= FAILING_AFTER ? FAILING : HEALTHY;
    }
    this.rotation = (this.rotation + 1) % n;
    this.order.sort(this.byRank);
  }

  private runs(i: number, adapter: string): boolean {
    return this.fresh[i] === 1 && this.members[i]!.load!.runningAdapters.includes(adapter);
  }

  /** The least loaded of the first `top` ranked endpoints that runs `model` as an adapter; -1 if none. */
  private adapterHolder(top: number, model: string): number {
    for (let k = 0; k < top; k++) if (this.runs(this.order[k]!, model)) return this.order[k]!;
    return -1;
  }

  /** The rendezvous winner for `key` among the first `top` ranked endpoints (those running `adapter`, if given). */
  private home(top: number, key: number, adapter: string | undefined): number {
    let home = -1;
    let weight = -1;
    for (let k = 0; k < top; k++) {
      const i = this.order[k]!;
      if (adapter !== undefined && !this.runs(i, adapter)) continue;
      const w = hrwWeight(key, this.members[i]!.seed);
      if (w > weight) {
        weight = w;
        home = i;
      }
    }
    return home;
  }

  /** Call when a request is sent to `endpoint` (ip:port); the returned function when it ends. */
  begin(endpoint: string): (outcome: Outcome) => void {
    const m = this.byKey.get(endpoint);
    if (!m) return NOOP;
    const gen = m.begin();
    let ended = false;
    return (outcome) => {
      if (ended) return;
      ended = true;
      m.end(gen);
      // Ollama answers 503 when its queue is full (OLLAMA_MAX_QUEUE); so does Envoy when it
      // cannot connect. Either way, sending more there now only earns more 503s.
      if (outcome.busy || outcome.status === 503) m.fullUntil = Math.max(m.fullUntil, this.now() + this.busyMs);
    };
  }

  snapshot(): EndpointSnapshot[] {
    const now = this.now();
    return this.members.map((m) => {
      const s: EndpointSnapshot = { endpoint: m.key, inFlight: m.inFlight, fresh: this.kind === 'vllm' && m.fresh(now, this.staleAfterMs) };
      if (m.load) {
        s.running = m.load.running;
        s.waiting = m.load.waiting;
        if (m.load.kvCacheUsage !== undefined) s.kvCacheUsage = m.load.kvCacheUsage;
        s.adapters = [...m.load.runningAdapters];
      }
      if (m.fullUntil > now) s.fullUntil = m.fullUntil;
      if (m.serviceSeconds !== undefined) s.serviceSeconds = m.serviceSeconds;
      return s;
    });
  }

  /** How often each endpoint was picked first, per reason, since start (for the picks counter). */
  pickCounts(): Array<{ endpoint: string; reason: PickReason; count: number }> {
    const out: Array<{ endpoint: string; reason: PickReason; count: number }> = [];
    for (const m of this.members) {
      for (let i = 0; i < PICK_REASONS.length; i++) if (m.picks[i]! > 0) out.push({ endpoint: m.key, reason: PICK_REASONS[i]!, count: m.picks[i]! });
    }
    return out;
  }
}

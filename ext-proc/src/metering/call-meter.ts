import type { Variant } from '../canary/canaries.js';
import type { Model } from '../catalog/load.js';
import type { Limiter, Reservation } from '../limits/index.js';
import type { Logger } from '../log/logger.js';
import type { RoutingContext } from '../route/routing-context.js';
import type { StructObject } from '../server/codec/messages.js';
import type { UsageRecordKey } from '../contract.js';
import type { LedgerSink } from '../ledger/ledger.js';
import { callRecord, type LedgerRecord } from '../ledger/record.js';
import { callInstruments, type CallInstruments } from './bound-metrics.js';
import { costUsd } from './cost.js';
import type { GatewayMetrics } from './metrics.js';
import type { Usage } from './usage.js';

/** What the meter reports to; built once, shared by every call. */
export interface MeterDeps {
  metrics: GatewayMetrics;
  log: Logger;
  limiter: Limiter;
  routing: RoutingContext;
  /** The usage ledger: one record per finished call (absent when it is off). */
  ledger?: LedgerSink;
}

/** What is known of a call when it goes upstream. */
export interface MeteredCall {
  /** When the request reached the gateway (process.hrtime.bigint()). */
  startedAt: bigint;
  rid: string;
  tenant: string;
  keyId: string;
  stream: boolean;
  /** The model expected to answer (a chained call's first member until the answer names another). */
  model: Model;
  reservation?: Reservation;
  canary?: { name: string; variant: Variant };
  /** The routing policy's premium model: savings are counted against it. */
  baseline?: Model;
  /** Ends the GPU pool's in-flight count for the endpoint picked. */
  poolDone?: (outcome: { status: number; busy?: boolean }) => void;
  /** The response cache's part in the call: `miss` (looked up, stored after) or `bypass`. */
  cache: 'miss' | 'bypass';
  /** The model as the caller named it, and why the one that answers was chosen (for the ledger). */
  requestedModel?: string;
  route?: { tier?: string; reason: string };
}

/**
 * One call's metering, from the moment it goes upstream to its last byte: duration and time to
 * first token, usage and cost, the limits reconciled with what was really used, what routing
 * learns (latency, provider quota, canary health, pool load, savings) and the usage record for
 * Envoy's access log. `finish` records once; later calls (an abort after the end) do nothing.
 */
export class CallMeter {
  private model: Model;
  private status = 0;
  private firstByte = false;
  private finished = false;
  private estimated = false;
  private ttftSeconds: number | undefined;
  private attempts = 1;

  constructor(
    private readonly deps: MeterDeps,
    private readonly call: MeteredCall,
  ) {
    this.model = call.model;
  }

  get servedModel(): Model {
    return this.model;
  }

  /** A chained call's answer names the member that served it: meter that one, not the head. */
  servedBy(model: Model): void {
    this.model = model;
  }

  responseStatus(status: number): void {
    this.status = status;
  }

  /** How many providers a chained call tried (the answering attempt says). */
  attemptsMade(n: number): void {
    if (Number.isInteger(n) && n > 0) this.attempts = n;
  }

  /** The first bytes of a stream's body reached the caller (time to first token). */
  bodyStarted(): void {
    if (this.firstByte) return;
    this.firstByte = true;
    this.ttftSeconds = this.elapsedSeconds();
    this.instruments().timeToFirstToken.observe(this.ttftSeconds);
  }

  get done(): boolean {
    return this.finished;
  }

  /**
   * Records the call (once); returns its cost when the usage is known. `estimated`: the usage is
   * the gateway's estimate (a stream cut off before the provider reported it), recorded as such.
   */
  finish(usage: Usage | undefined, aborted = false, estimated = false): number | undefined {
    if (this.finished) return undefined;
    this.finished = true;
    this.estimated = estimated;
    const { log, limiter } = this.deps;
    const m = this.instruments();
    const seconds = this.elapsedSeconds();
    if (aborted) m.aborted.inc();
    const errorType = aborted ? 'aborted' : this.status >= 400 ? String(this.status) : '';
    m.duration(errorType).observe(seconds);
    m.requests(aborted ? 'aborted' : String(this.status)).inc();
    const usd = usage ? costUsd(usage, this.model.pricing) : undefined;
    this.deps.ledger?.append(this.ledgerRecord(usage, usd, aborted, seconds));
    if (this.call.reservation) {
      // Without usage (an error) nothing is known to be billed: release it. A cut stream has its
      // usage (reported or estimated) and keeps that much of the reservation.
      const actual = { tokens: usage ? usage.inputTokens + usage.outputTokens : 0, usd: usd ?? 0 };
      limiter.reconcile(this.call.reservation, actual).catch((err: unknown) => {
        log.warn({ rid: this.call.rid, err: err instanceof Error ? err.message : String(err) }, 'limit reconcile failed');
      });
    }
    this.teachRouting(usage, usd, seconds, aborted);
    if (usage && usd !== undefined) {
      m.inputTokens.observe(usage.inputTokens);
      m.outputTokens.observe(usage.outputTokens);
      m.cost.inc(usd);
    }
    // Debug level: Envoy's access log already carries one line per call with the same record.
    if (log.isLevelEnabled('debug')) {
      log.debug(
        {
          rid: this.call.rid,
          tenant: this.call.tenant,
          model: this.model.id,
          provider: this.model.provider.id,
          status: this.status,
          stream: this.call.stream,
          inputTokens: usage?.inputTokens,
          outputTokens: usage?.outputTokens,
          costUsd: usd,
          ms: Math.round(seconds * 1e4) / 10,
          aborted: aborted || undefined,
        },
        'llm call',
      );
    }
    return usd;
  }

  /** The usage record for Envoy's access log (dynamic metadata). */
  record(usage: Usage | undefined, usd: number | undefined, extra: Partial<Record<UsageRecordKey, string | number>> = {}): StructObject {
    const r: Partial<Record<UsageRecordKey, string | number | boolean>> = {
      cache: this.call.cache,
      ...extra,
      request_id: this.call.rid,
      tenant: this.call.tenant,
      key_id: this.call.keyId,
      model: this.model.id,
      provider: this.model.provider.id,
      stream: this.call.stream,
    };
    if (usage) {
      r.input_tokens = usage.inputTokens;
      r.output_tokens = usage.outputTokens;
      r.cached_input_tokens = usage.cachedInputTokens;
    }
    if (usd !== undefined) r.cost_usd = usd;
    if (this.estimated) r.usage_estimated = true;
    return r as StructObject;
  }

  /** The call's usage-ledger record (ledger/record.ts). */
  private ledgerRecord(usage: Usage | undefined, usd: number | undefined, aborted: boolean, seconds: number): LedgerRecord {
    const { model, status, estimated, ttftSeconds, attempts } = this;
    return callRecord(this.call, { model, status, usage, usd, aborted, estimated, seconds, ttftSeconds, attempts });
  }

  labels() {
    return { tenant: this.call.tenant, gen_ai_provider_name: this.model.provider.id, gen_ai_request_model: this.model.id };
  }

  private instruments(): CallInstruments {
    return callInstruments(this.deps.metrics, this.call.tenant, this.model.provider.id, this.model.id);
  }

  /** What routing learns from a finished call: latency, provider quota, canary health, pool load, savings. */
  private teachRouting(usage: Usage | undefined, usd: number | undefined, seconds: number, aborted: boolean): void {
    const routing = this.deps.routing;
    const model = this.model;
    const ok = !aborted && this.status > 0 && this.status < 400;
    if (ok) routing.latency.observe(model.id, seconds);
    if (usage) routing.quotas.recordTokens(model.provider.id, usage.inputTokens + usage.outputTokens);
    const canary = this.call.canary;
    if (canary) routing.canaries.record(canary.name, canary.variant, seconds * 1000, ok);
    this.call.poolDone?.({ status: this.status, busy: this.status === 503 });
    const baseline = this.call.baseline;
    if (usage && usd !== undefined && baseline && baseline !== model) {
      this.deps.metrics.routingSavedUsd.inc({ tenant: this.call.tenant }, Math.max(0, costUsd(usage, baseline.pricing) - usd));
    }
  }

  private elapsedSeconds(): number {
    return Number(process.hrtime.bigint() - this.call.startedAt) / 1e9;
  }
}

import type { AnswerPolicy, HeadersDecision, WholeDecision } from '../answer/policy.js';
import type { AnswerReader } from '../answer/reader.js';
import { contentTypeProblem, unreadableAnswer } from '../answer/unreadable.js';
import { errorAnswer, upstreamErrorForCaller } from '../answer/upstream-error.js';
import { HIDDEN_UPSTREAM_HEADERS } from '../answer/upstream-headers.js';
import { METADATA_NAMESPACE, RESPONSE_HEADER } from '../contract.js';
import { GatewayError } from '../errors.js';
import type { CallMeter } from '../metering/call-meter.js';
import { formatUsd } from '../metering/cost.js';
import type { Usage } from '../metering/usage.js';
import { restoreJsonText } from '../safety/pii/restore.js';
import type { LocalReply } from '../server/call-handler.js';
import type { HeaderPair, HeaderRecord, StructObject } from '../server/codec/messages.js';
import type { CacheWriter } from './cache.js';
import type { Caller } from './caller.js';
import type { GatewayContext } from './context.js';
import { type GuardScreen, guardHeaders } from './guard.js';
import { piiHeaders, type PiiScreen } from './pii.js';
import type { RoutePlan } from './plan.js';
import { decisionHeaders, errorReply, ReplyInstead } from './replies.js';

/**
 * The answer of a call the router-level processor sent upstream: gateway headers on it, the
 * provider's account headers off it, errors in the caller's API, the body read (and translated)
 * by the call's reader, and the call metered and offered to the cache when it ends. A 200 that
 * is not an answer (no body, an HTML page or a text label, a body that does not read as one) is
 * a 502 in the caller's API; a stream that breaks after it started ends with an error event.
 */
export class RouterAnswer implements AnswerPolicy {
  private status = 0;
  /** Why a 200 is not an answer, known from its headers: its body is read only to be replaced. */
  private broken: string | undefined;
  private usage: Usage | undefined;
  private usd: number | undefined;

  constructor(
    private readonly gw: GatewayContext,
    private readonly o: {
      caller: Caller;
      plan: RoutePlan;
      meter: CallMeter;
      reader: AnswerReader;
      writer: CacheWriter | undefined;
      quotaHeaders: HeaderPair[];
      stream: boolean;
      /** `miss` when the cache was looked up for this call, else `bypass` (a refresh included). */
      cacheStatus: 'miss' | 'bypass';
      /** The prompt's size in tokens, estimated, for a call cut off before the provider said. */
      promptTokens: number;
      /** PII screening's outcome: the count header, and the values to put back into a whole answer. */
      pii: PiiScreen | undefined;
      /** The prompt-injection guard's verdict (x-gateway-guard, x-gateway-guard-score). */
      guard?: GuardScreen;
    },
  ) {}

  headers(status: number, headers: HeaderRecord, endOfStream: boolean): HeadersDecision {
    const { caller, plan, meter, reader } = this.o;
    this.status = status;
    meter.responseStatus(status);
    if (plan.chain) {
      // The per-attempt processor names the member that answered; meter it, not the head.
      const served = headers[RESPONSE_HEADER.model] ? this.gw.catalog.find(headers[RESPONSE_HEADER.model]!) : undefined;
      if (served) meter.servedBy(served);
      meter.attemptsMade(Number(headers[RESPONSE_HEADER.attempts]));
    }
    // Envoy passes the last refusal on once every member has refused.
    if (plan.chain && (status === 429 || status >= 500)) {
      this.gw.metrics.fallbackExhausted.inc({ tenant: caller.principal.tenant, gen_ai_request_model: plan.chain.head.id });
    }
    const model = meter.servedModel;
    // A 200 is the answer, and must be one (other 2xx, e.g. a bodiless 204, pass as they are).
    const ok = status === 200;
    // No body: nothing will follow to carry an error, so the call is answered instead of passing on.
    if (ok && endOfStream) throw new ReplyInstead(this.unreadableReply('an empty body'));
    const set: HeaderPair[] = [
      [RESPONSE_HEADER.requestId, caller.rid],
      [RESPONSE_HEADER.cache, this.o.cacheStatus],
      [RESPONSE_HEADER.model, model.id],
      [RESPONSE_HEADER.provider, model.provider.id],
    ];
    // A chained call's attempt count comes from the attempt that answered.
    if (!plan.chain) set.push([RESPONSE_HEADER.attempts, '1']);
    set.push(...decisionHeaders(plan.decision), ...this.o.quotaHeaders, ...piiHeaders(this.o.pii), ...guardHeaders(this.o.guard));
    const ours = new Set(this.o.quotaHeaders.map(([k]) => k));
    const remove = Object.keys(headers).filter((k) => HIDDEN_UPSTREAM_HEADERS.test(k) && !ours.has(k));
    if (endOfStream) {
      // No body will follow (e.g. a bodiless upstream error): the call ends here.
      this.end(undefined);
      return { set, remove, whole: false };
    }
    this.broken = ok ? contentTypeProblem(plan.answerFormat, this.o.stream, headers['content-type']) : undefined;
    if (this.broken) return { set, remove, whole: true };
    const contentType = status < 400 ? reader.contentType() : undefined;
    if (contentType) {
      // The body is rewritten into the caller's API: its length changes and so may its type.
      remove.push('content-length');
      set.push(['content-type', contentType]);
    }
    // Errors and non-stream answers are small and needed whole (usage, cost header, error
    // mapping); successful streams flow chunk by chunk.
    return { set, remove, whole: status >= 400 || !this.o.stream };
  }

  chunk(body: Buffer, endOfStream: boolean): Buffer | undefined {
    if (body.length > 0) this.o.meter.bodyStarted();
    this.o.writer?.chunk(body);
    const out = this.o.reader.chunk(body, endOfStream);
    if (endOfStream) this.end(this.o.reader.usage);
    return out;
  }

  whole(body: Buffer): WholeDecision {
    if (this.status >= 400) return this.upstreamError(body);
    if (this.broken) return this.unreadable(unreadableAnswer(this.broken));
    const reader = this.o.reader;
    this.o.writer?.wholeAnswer(body);
    let out: Buffer | undefined;
    try {
      out = reader.whole(body);
    } catch (err) {
      if (err instanceof GatewayError && err.opts.code === 'upstream_invalid_response') return this.unreadable(err);
      this.end(undefined);
      throw err;
    }
    if (!reader.usage)
      this.gw.log.warn(
        { rid: this.o.caller.rid, status: this.status, provider: this.o.meter.servedModel.provider.id },
        'upstream answer unreadable; usage unknown',
      );
    const usd = this.end(reader.usage);
    const set: HeaderPair[] = usd === undefined ? [] : [[RESPONSE_HEADER.costUsd, formatUsd(usd)]];
    return { set, body: this.restored(out ?? body) ?? out };
  }

  /**
   * A whole answer with the call's values back in place of their placeholders, or undefined
   * when there is nothing to restore. After the cache writer took its copy: the cache keeps
   * the placeholders.
   */
  private restored(body: Buffer): Buffer | undefined {
    const originals = this.o.pii?.restore;
    if (!originals) return undefined;
    const text = body.toString('utf8');
    const out = restoreJsonText(text, originals);
    return out === text ? undefined : Buffer.from(out, 'utf8');
  }

  metadata(): Record<string, StructObject> {
    return { [METADATA_NAMESPACE]: this.o.meter.record(this.usage, this.usd) };
  }

  abort(): void {
    const { meter, reader, caller } = this.o;
    if (meter.done) return;
    const labels = meter.labels();
    this.gw.log.warn({ rid: caller.rid, tenant: labels.tenant, model: labels.gen_ai_request_model }, 'exchange ended before the response completed');
    // What the provider reported, where it did; what was read of the answer, where it did not.
    // The prompt was sent in full either way, and is billed.
    const reported = reader.usage;
    const delivered = reader.deliveredTokens();
    const complete = reported !== undefined && reported.outputTokens >= delivered && reported.inputTokens > 0;
    this.usage = complete
      ? reported
      : {
          inputTokens: reported?.inputTokens || this.o.promptTokens,
          outputTokens: Math.max(reported?.outputTokens ?? 0, delivered),
          cachedInputTokens: reported?.cachedInputTokens ?? 0,
          reasoningTokens: reported?.reasoningTokens ?? 0,
        };
    this.usd = meter.finish(this.usage, true, !complete);
  }

  /** A provider's error, in the caller's API and with a status it knows. */
  private upstreamError(body: Buffer): WholeDecision {
    this.end(undefined);
    const { caller, plan, meter } = this.o;
    const text = body.toString('utf8');
    const mapped = upstreamErrorForCaller(caller.caller, plan.answerFormat, this.status, text);
    this.gw.log.warn({ rid: caller.rid, status: this.status, provider: meter.servedModel.provider.id, upstream: mapped.logDetail }, 'upstream error');
    return errorAnswer(mapped, this.status);
  }

  /** A 2xx whose body was read whole and is not an answer: a 502 in the caller's API. */
  private unreadable(err: GatewayError): WholeDecision {
    const { caller, meter } = this.o;
    this.gw.log.warn({ rid: caller.rid, status: this.status, provider: meter.servedModel.provider.id, upstream: err.message }, 'upstream answer unreadable');
    const upstreamStatus = this.status;
    this.answeredWith(err.status);
    this.end(undefined);
    return errorAnswer({ status: err.status, body: caller.caller.renderError(err) }, upstreamStatus);
  }

  /** A 200 with no body at all: the call ends with the gateway's own 502 in the caller's API. */
  private unreadableReply(what: string): LocalReply {
    const { caller, plan, meter } = this.o;
    const err = unreadableAnswer(what);
    this.gw.log.warn({ rid: caller.rid, status: this.status, provider: meter.servedModel.provider.id, upstream: err.message }, 'upstream answer unreadable');
    this.answeredWith(err.status);
    this.end(undefined);
    return errorReply(this.gw, caller.caller, err, { rid: caller.rid, tenant: caller.principal.tenant, plan });
  }

  /** The caller is answered with this status instead of the provider's (metered, never cached). */
  private answeredWith(status: number): void {
    this.status = status;
    this.o.meter.responseStatus(status);
  }

  private end(usage: Usage | undefined): number | undefined {
    this.usage = usage;
    this.usd = this.o.meter.finish(usage);
    // A stream that ended in an error for the caller is not an answer to keep.
    if (!this.o.reader.failed) this.o.writer?.commit(this.status, this.o.meter.servedModel);
    return this.usd;
  }
}

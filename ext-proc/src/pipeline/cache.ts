import { randomUUID } from 'node:crypto';
import { ChatStreamAssembler, isCacheableCompletion } from '../cache/assemble.js';
import { cacheKey } from '../cache/key.js';
import { replayJson, replaySse } from '../cache/replay.js';
import type { ChatCompletion } from '../cache/types.js';
import { METADATA_NAMESPACE, RESPONSE_HEADER } from '../contract.js';
import { costUsd } from '../metering/cost.js';
import { fromOpenAIUsage } from '../providers/openai/usage.js';
import type { LocalReply } from '../server/call-handler.js';
import type { Caller } from './caller.js';
import type { ChatRequest } from './chat.js';
import type { GatewayContext } from './context.js';
import type { RoutePlan } from './plan.js';

/** The cache's part in a call: answered from it, to be stored after, or not involved. */
export type CachePlan = { status: 'bypass' } | { status: 'hit'; reply: LocalReply } | { status: 'miss' | 'refresh'; writer: CacheWriter };

const BYPASS: CachePlan = { status: 'bypass' };

/**
 * Exact-match cache on the normalized request, per tenant. `cache-control: no-store` leaves it
 * out; `no-cache` skips the lookup but stores the fresh answer. A hit is answered without a
 * provider call and costs nothing against the limits.
 */
export async function consultCache(gw: GatewayContext, caller: Caller, request: ChatRequest, plan: RoutePlan): Promise<CachePlan> {
  const cache = gw.cache;
  // The cache keeps OpenAI completions: it serves OpenAI callers of OpenAI-format backends.
  const cacheable = caller.caller.id === 'openai' && !plan.translating && !plan.chain;
  if (!cacheable || !cache || caller.cacheDirective === 'off' || caller.policy?.cache?.enabled === false || !cache.usable()) return BYPASS;
  const tenant = caller.principal.tenant;
  const model = plan.model;
  const key = cacheKey({ tenant, model: model.id, request: request.parsed });
  const ttlSeconds = caller.policy?.cache?.ttlSeconds ?? model.cacheTtlSeconds;
  const writer = new CacheWriter(gw, key, ttlSeconds, { tenant, gen_ai_request_model: model.id });
  if (caller.cacheDirective === 'refresh') return { status: 'refresh', writer };
  const hit = await cache.lookup(key);
  if (!hit) {
    gw.metrics.cacheLookups.inc({ tenant, gen_ai_request_model: model.id, result: 'miss' });
    return { status: 'miss', writer };
  }
  return { status: 'hit', reply: replayHit(gw, caller, request, plan, hit) };
}

/** A cached answer, replayed in the shape the caller asked for (JSON or SSE): no provider call. */
function replayHit(gw: GatewayContext, caller: Caller, request: ChatRequest, plan: RoutePlan, hit: ChatCompletion): LocalReply {
  const { tenant, keyId } = caller.principal;
  const model = plan.model;
  const stream = request.chat.stream;
  const replay = { id: `chatcmpl-${randomUUID().replace(/-/g, '')}`, created: Math.floor(Date.now() / 1000) };
  const body = stream ? replaySse(hit, { ...replay, includeUsage: request.chat.includeUsage === true }) : replayJson(hit, replay);
  const usage = fromOpenAIUsage(hit.usage);
  const saved = usage ? costUsd(usage, model.pricing) : 0;
  gw.metrics.cacheLookups.inc({ tenant, gen_ai_request_model: model.id, result: 'hit' });
  gw.metrics.cacheSavedUsd.inc({ tenant, gen_ai_request_model: model.id }, saved);
  const record: Record<string, string | number | boolean> = {
    cache: 'hit',
    saved_usd: saved,
    request_id: caller.rid,
    tenant,
    key_id: keyId,
    model: model.id,
    provider: model.provider.id,
    stream,
    cost_usd: 0,
  };
  if (usage) Object.assign(record, { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, cached_input_tokens: usage.cachedInputTokens });
  return {
    status: 200,
    headers: [
      ['content-type', stream ? 'text/event-stream' : 'application/json'],
      [RESPONSE_HEADER.requestId, caller.rid],
      [RESPONSE_HEADER.cache, 'hit'],
      [RESPONSE_HEADER.model, model.id],
      [RESPONSE_HEADER.provider, model.provider.id],
      [RESPONSE_HEADER.costUsd, '0'],
    ],
    body,
    details: 'llm_gateway_cache_hit',
    metadata: { [METADATA_NAMESPACE]: record },
  };
}

/**
 * Collects a call's answer for the cache as it passes and stores it, without holding up the
 * response, once the call ended with a 200 and a complete answer.
 */
export class CacheWriter {
  /** Rebuilds a streamed answer from its chunks (fed by the stream reader). */
  readonly assembler = new ChatStreamAssembler();
  private whole: { completion: unknown; bytes: Buffer } | undefined;

  constructor(
    private readonly gw: GatewayContext,
    private readonly key: string,
    private readonly ttlSeconds: number | undefined,
    private readonly labels: { tenant: string; gen_ai_request_model: string },
  ) {}

  /** A whole answer as read (parsed and as bytes). */
  offerWhole(completion: unknown, bytes: Buffer): void {
    this.whole = { completion, bytes };
  }

  /** The call ended with `status`: store what was collected if it is a complete answer. */
  commit(status: number): void {
    const cache = this.gw.cache;
    if (!cache || status !== 200) return;
    const completion = this.whole ? this.whole.completion : this.assembler.result();
    if (!isCacheableCompletion(completion)) return;
    const bytes = this.whole?.bytes ?? Buffer.from(JSON.stringify(completion), 'utf8');
    // The tenant's TTL wins over the model's, which wins over the gateway default.
    cache.save(this.key, bytes, this.ttlSeconds).then(
      (ok) => this.gw.metrics.cacheWrites.inc({ ...this.labels, result: ok ? 'stored' : 'skipped' }),
      () => this.gw.metrics.cacheWrites.inc({ ...this.labels, result: 'failed' }),
    );
  }
}

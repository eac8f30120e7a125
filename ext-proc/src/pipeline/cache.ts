import { collectWhole, StreamCollector } from '../cache/collect.js';
import type { CacheEntry } from '../cache/entry.js';
import { cacheKey } from '../cache/key.js';
import { replayEntry } from '../cache/replay-entry.js';
import type { Model } from '../catalog/load.js';
import { METADATA_NAMESPACE, RESPONSE_HEADER } from '../contract.js';
import { costUsd } from '../metering/cost.js';
import type { FormatId } from '../providers/canonical/types.js';
import { restoreJsonText, restoreText } from '../safety/pii/restore.js';
import type { LocalReply } from '../server/call-handler.js';
import type { Caller } from './caller.js';
import type { ChatRequest } from './chat.js';
import type { GatewayContext } from './context.js';
import { piiHeaders, type PiiScreen } from './pii.js';
import type { RoutePlan } from './plan.js';

/** The cache's part in a call: answered from it, to be stored after, or not involved. */
export type CachePlan = { status: 'bypass' } | { status: 'hit'; reply: LocalReply } | { status: 'miss' | 'refresh'; writer: CacheWriter };

const BYPASS: CachePlan = { status: 'bypass' };

/**
 * Exact-match cache on the normalized request, per tenant and caller API, for every caller API
 * and backend (cache/README.md). `cache-control: no-store` leaves it out; `no-cache` skips the
 * lookup but stores the fresh answer. A hit is answered without a provider call and costs
 * nothing against the limits.
 */
export async function consultCache(gw: GatewayContext, caller: Caller, request: ChatRequest, plan: RoutePlan, pii?: PiiScreen): Promise<CachePlan> {
  const cache = gw.cache;
  if (!cache || caller.cacheDirective === 'off' || caller.policy?.cache?.enabled === false || !cache.usable()) return BYPASS;
  const tenant = caller.principal.tenant;
  // A chained call is keyed by its head: whichever member answered, it answered that request.
  const keyModel = plan.chain?.head ?? plan.model;
  const key = cacheKey({ tenant, format: caller.caller.id, model: keyModel.id, request: request.parsed });
  const ttlSeconds = caller.policy?.cache?.ttlSeconds ?? keyModel.cacheTtlSeconds;
  const writer = new CacheWriter(gw, key, ttlSeconds, caller.caller.id, plan.answerFormat.id, { tenant, gen_ai_request_model: keyModel.id });
  if (caller.cacheDirective === 'refresh') return { status: 'refresh', writer };
  const entry = await cache.get(key);
  const hit = entry && replayHit(gw, caller, request, plan, pii ? restoredEntry(entry, pii) : entry, pii);
  if (!hit) {
    gw.metrics.cacheLookups.inc({ tenant, gen_ai_request_model: keyModel.id, result: 'miss' });
    return { status: 'miss', writer };
  }
  return { status: 'hit', reply: hit };
}

/**
 * With redaction on, the key is the redacted request and the entry the answer to it, as the
 * provider wrote it: placeholders, never the values. A caller whose tenant restores gets this
 * call's values put back before the replay (so several calls that differ only in their values
 * share one entry, each getting its own back).
 */
function restoredEntry(entry: CacheEntry, pii: PiiScreen): CacheEntry {
  const originals = pii.restore;
  if (!originals) return entry;
  const text = (t: string) => restoreText(t, originals);
  const json = (t: string) => restoreJsonText(t, originals);
  if (entry.kind === 'canonical') {
    const content = entry.response.content.map((p) => (p.type === 'text' ? { ...p, text: text(p.text) } : { ...p, arguments: json(p.arguments) }));
    return { ...entry, response: { ...entry.response, content } };
  }
  const choices = entry.completion.choices.map((c) => {
    const m = c.message;
    const message = {
      ...m,
      content: m.content === null ? null : text(m.content),
      ...(m.tool_calls ? { tool_calls: m.tool_calls.map((t) => ({ ...t, function: { ...t.function, arguments: json(t.function.arguments) } })) } : {}),
    };
    return { ...c, message };
  });
  return { ...entry, completion: { ...entry.completion, choices } };
}

/** A stored answer, replayed in the caller's API and shape (whole or streamed): no provider call. */
function replayHit(
  gw: GatewayContext,
  caller: Caller,
  request: ChatRequest,
  plan: RoutePlan,
  entry: CacheEntry,
  pii: PiiScreen | undefined,
): LocalReply | undefined {
  const { chat } = request;
  // A miss shows the provider's own model name when the answer passes through untranslated, the
  // name the caller used when it is rebuilt: a hit shows the same.
  const rebuilt = plan.translating || plan.chain !== undefined || entry.kind === 'canonical';
  const replayed = replayEntry(entry, caller.caller, {
    stream: chat.stream,
    model: rebuilt ? chat.model : undefined,
    includeUsage: chat.includeUsage === true,
  });
  if (!replayed) return undefined;
  const { tenant, keyId } = caller.principal;
  const served: Model = (entry.origin && gw.fullCatalog.find(entry.origin.model)) || plan.chain?.head || plan.model;
  const saved = replayed.usage ? costUsd(replayed.usage, served.pricing) : 0;
  const keyModel = plan.chain?.head ?? plan.model;
  gw.metrics.cacheLookups.inc({ tenant, gen_ai_request_model: keyModel.id, result: 'hit' });
  gw.metrics.cacheSavedUsd.inc({ tenant, gen_ai_request_model: keyModel.id }, saved);
  const record: Record<string, string | number | boolean> = {
    cache: 'hit',
    saved_usd: saved,
    request_id: caller.rid,
    tenant,
    key_id: keyId,
    model: served.id,
    provider: served.provider.id,
    stream: chat.stream,
    cost_usd: 0,
  };
  const u = replayed.usage;
  if (u) Object.assign(record, { input_tokens: u.inputTokens, output_tokens: u.outputTokens, cached_input_tokens: u.cachedInputTokens });
  return {
    status: 200,
    headers: [
      ['content-type', replayed.contentType],
      [RESPONSE_HEADER.requestId, caller.rid],
      [RESPONSE_HEADER.cache, 'hit'],
      [RESPONSE_HEADER.model, served.id],
      [RESPONSE_HEADER.provider, served.provider.id],
      [RESPONSE_HEADER.costUsd, '0'],
      ...piiHeaders(pii),
    ],
    body: replayed.body,
    details: 'llm_gateway_cache_hit',
    metadata: { [METADATA_NAMESPACE]: record },
  };
}

/**
 * Collects a call's answer for the cache as it passes (in the API it arrives in) and stores it,
 * without holding up the response, once the call ended with a 200 and a complete answer.
 */
export class CacheWriter {
  private stream: StreamCollector | undefined;
  private whole: Buffer | undefined;

  constructor(
    private readonly gw: GatewayContext,
    private readonly key: string,
    private readonly ttlSeconds: number | undefined,
    private readonly caller: FormatId,
    /** The API the answer arrives in: the backend's, or the caller's for a chained call. */
    private readonly answerFormat: FormatId,
    private readonly labels: { tenant: string; gen_ai_request_model: string },
  ) {}

  /** A chunk of a streamed answer, as it came from upstream. */
  chunk(body: Buffer): void {
    this.stream ??= new StreamCollector(this.caller, this.answerFormat);
    this.stream.push(body);
  }

  /** A whole answer, as it came from upstream. */
  wholeAnswer(body: Buffer): void {
    this.whole = body;
  }

  /** The call ended with `status`, answered by `served`: store what was collected if it is a complete answer. */
  commit(status: number, served: Model): void {
    const cache = this.gw.cache;
    if (!cache || status !== 200) return;
    const collected = this.whole ? collectWhole(this.caller, this.answerFormat, this.whole) : this.stream?.end();
    if (!collected?.entry) return;
    const entry: CacheEntry = { ...collected.entry, origin: { model: served.id, provider: served.provider.id } };
    // The tenant's TTL wins over the model's, which wins over the gateway default.
    cache.put(this.key, entry, this.ttlSeconds).then(
      (ok) => this.gw.metrics.cacheWrites.inc({ ...this.labels, result: ok ? 'stored' : 'skipped' }),
      () => this.gw.metrics.cacheWrites.inc({ ...this.labels, result: 'failed' }),
    );
  }
}

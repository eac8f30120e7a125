import { z } from 'zod';
import type { Model } from '../catalog/load.js';
import type { MeteredCall } from '../metering/call-meter.js';
import type { Usage } from '../metering/usage.js';
import { METADATA_NAMESPACE } from '../contract.js';
import type { LocalReply } from '../server/call-handler.js';

/*
 * One usage-ledger record per LLM call the gateway finished (answered, failed upstream, cut off,
 * or served from the cache). Counts, prices, timings and names only: a record has no field that
 * could carry prompt or answer text, and the schema is strict, so none can be slipped in.
 */

const name = (max: number) => z.string().min(1).max(max);
const tokens = z.number().int().min(0).nullable();

export const LedgerRecordSchema = z.strictObject({
  /** Record layout version. */
  v: z.literal(1),
  /** Envoy's x-request-id: the ledger's key (a record written twice is stored once). */
  request_id: name(200),
  /** When the request reached the gateway (UTC, ms). */
  ts: z.iso.datetime(),
  tenant: name(200),
  key_id: z.string().max(200),
  /** The model as the caller named it (`auto` included). */
  requested_model: z.string().max(300).nullable(),
  /** The model that answered (a chained call's member that served it). */
  model: name(300),
  provider: name(100),
  /** The router's complexity tier, when it classified the call. */
  tier: z.string().max(50).nullable(),
  stream: z.boolean(),
  input_tokens: tokens,
  output_tokens: tokens,
  cached_input_tokens: tokens,
  reasoning_tokens: tokens,
  cost_usd: z.number().min(0).nullable(),
  /** Provider cost a cache hit avoided. */
  saved_usd: z.number().min(0).nullable(),
  cache: z.enum(['hit', 'miss', 'bypass']),
  /** The status the caller was answered with (0: none, e.g. cut before the provider answered). */
  status: z.number().int().min(0).max(999),
  latency_ms: z.number().min(0),
  /** Time to the first streamed bytes (streams only). */
  ttft_ms: z.number().min(0).nullable(),
  /** Providers tried (a fallback chain's count; 1 for a direct call, 0 for a cache hit). */
  attempts: z.number().int().min(0).max(100),
  /** Why this model (x-gateway-route-reason). */
  route_reason: z.string().max(200).nullable(),
  /** The exchange ended before the answer did (usage is what was known by then). */
  aborted: z.boolean(),
  /** The tokens are the gateway's estimate, not the provider's report. */
  usage_estimated: z.boolean(),
});

export type LedgerRecord = z.infer<typeof LedgerRecordSchema>;

/** The fields every record has, in order: the database columns and the CSV header follow it. */
export const LEDGER_FIELDS = Object.keys(LedgerRecordSchema.shape).filter((k) => k !== 'v') as Array<Exclude<keyof LedgerRecord, 'v'>>;

/** What the meter knows of a call when it finishes. */
export interface MeterOutcome {
  model: Model;
  status: number;
  usage: Usage | undefined;
  usd: number | undefined;
  aborted: boolean;
  estimated: boolean;
  seconds: number;
  ttftSeconds: number | undefined;
  attempts: number;
}

const ms = (seconds: number) => Math.round(seconds * 1e6) / 1e3;

/** The record of a call that went upstream, as its meter finished it. */
export function callRecord(
  call: Pick<MeteredCall, 'rid' | 'tenant' | 'keyId' | 'stream' | 'cache' | 'requestedModel' | 'route'>,
  o: MeterOutcome,
  nowMs = Date.now(),
): LedgerRecord {
  return {
    v: 1,
    request_id: call.rid,
    ts: new Date(nowMs - o.seconds * 1000).toISOString(),
    tenant: call.tenant,
    key_id: call.keyId,
    requested_model: call.requestedModel ?? null,
    model: o.model.id,
    provider: o.model.provider.id,
    tier: call.route?.tier ?? null,
    stream: call.stream,
    input_tokens: o.usage?.inputTokens ?? null,
    output_tokens: o.usage?.outputTokens ?? null,
    cached_input_tokens: o.usage?.cachedInputTokens ?? null,
    reasoning_tokens: o.usage?.reasoningTokens ?? null,
    cost_usd: o.usd ?? null,
    saved_usd: null,
    cache: call.cache,
    status: o.status,
    latency_ms: ms(o.seconds),
    ttft_ms: o.ttftSeconds === undefined ? null : ms(o.ttftSeconds),
    attempts: o.attempts,
    route_reason: call.route?.reason ?? null,
    aborted: o.aborted,
    usage_estimated: o.estimated,
  };
}

/** What is known of a call the cache answered, besides the reply's own usage record. */
export interface HitFacts {
  startedAt: bigint;
  keyId: string;
  requestedModel: string;
  route: { tier?: string; reason: string } | undefined;
}

/**
 * The record of a call answered from the cache, from the usage record the hit's reply carries
 * for Envoy's access log (pipeline/cache.ts: model, provider, tokens, saved_usd). No provider
 * was called: the cost is 0 and no attempt was made.
 */
export function cacheHitRecord(reply: LocalReply, f: HitFacts, nowMs = Date.now(), now = process.hrtime.bigint()): LedgerRecord {
  const usage = reply.metadata?.[METADATA_NAMESPACE] ?? {};
  const seconds = Number(now - f.startedAt) / 1e9;
  const num = (k: string) => (typeof usage[k] === 'number' ? (usage[k] as number) : null);
  const str = (k: string) => (typeof usage[k] === 'string' ? (usage[k] as string) : '');
  return {
    v: 1,
    request_id: str('request_id'),
    ts: new Date(nowMs - seconds * 1000).toISOString(),
    tenant: str('tenant'),
    key_id: f.keyId,
    requested_model: f.requestedModel,
    model: str('model'),
    provider: str('provider'),
    tier: f.route?.tier ?? null,
    stream: usage.stream === true,
    input_tokens: num('input_tokens'),
    output_tokens: num('output_tokens'),
    cached_input_tokens: num('cached_input_tokens'),
    reasoning_tokens: null,
    cost_usd: 0,
    saved_usd: num('saved_usd'),
    cache: 'hit',
    status: reply.status,
    latency_ms: ms(seconds),
    ttft_ms: null,
    attempts: 0,
    route_reason: f.route?.reason ?? null,
    aborted: false,
    usage_estimated: false,
  };
}

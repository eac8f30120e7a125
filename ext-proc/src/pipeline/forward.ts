import type { AnswerReader } from '../answer/reader.js';
import { OpenAIPassthrough } from '../answer/openai-passthrough.js';
import { estimateTokens } from '../answer/reader.js';
import { AnswerTranslator } from '../answer/translator.js';
import type { Model } from '../catalog/load.js';
import { CALLER_API_METADATA_KEY, CLUSTER_HEADER, DESTINATION_HEADER, METADATA_NAMESPACE, ROUTE_CONTEXT_KEY } from '../contract.js';
import { chainClusterName } from '../fallback/chains.js';
import { encodeRouteContext, ROUTE_CONTEXT_TTL_MS } from '../fallback/route-context.js';
import { CallMeter } from '../metering/call-meter.js';
import type { Forward } from '../server/call-handler.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { HeaderPair } from '../server/codec/messages.js';
import { upstreamRequest } from '../upstream/request.js';
import type { Admission } from './admission.js';
import { RouterAnswer } from './answer.js';
import type { CachePlan, CacheWriter } from './cache.js';
import type { Caller } from './caller.js';
import type { ChatRequest } from './chat.js';
import type { GatewayContext } from './context.js';
import type { GuardScreen } from './guard.js';
import type { PiiScreen } from './pii.js';
import type { RoutePlan } from './plan.js';

export interface ForwardInput {
  caller: Caller;
  request: ChatRequest;
  /** PII screening's outcome, when it is on for the tenant. */
  pii: PiiScreen | undefined;
  /** The prompt-injection guard's verdict, when it is on for the tenant (its headers go on the answer). */
  guard?: GuardScreen;
  plan: RoutePlan;
  cache: Exclude<CachePlan, { status: 'hit' }>;
  admission: Admission;
  /** The tenant's own provider credential, when it has one. */
  credential: string | undefined;
  startedAt: bigint;
}

/**
 * Sends the call on: a direct call gets its cluster, path, host, credential and body for its
 * backend; a chained call goes to its chain cluster, and each attempt is rewritten by the
 * per-attempt processor. Either way the answer comes back through a RouterAnswer.
 */
export function forward(gw: GatewayContext, x: ForwardInput): Forward {
  return x.plan.chain ? forwardChained(gw, x) : forwardDirect(gw, x);
}

function forwardDirect(gw: GatewayContext, x: ForwardInput): Forward {
  const { caller, request, plan } = x;
  const { chat, parsed } = request;
  const model = plan.model;
  const target = x.credential ? { ...plan.target, credential: x.credential } : plan.target;
  const up = upstreamRequest({ caller: caller.caller, model, authority: target.authority, credential: target.credential, chat, parsed, stream: chat.stream });
  const body = up.body ?? redactedBody(request);
  const pool = poolPick(gw, model, plan.conversation);
  gw.routing.quotas.recordRequest(model.provider.id);
  const writer = x.cache.status === 'bypass' ? undefined : x.cache.writer;
  const reader = answerReader(x, plan.answerFormat);
  return {
    set: [[CLUSTER_HEADER, target.cluster], ...up.set, ...lengthOf(up.body ? undefined : body), ...pool.headers],
    remove: up.remove,
    body,
    clearRouteCache: true,
    // Marks the call as the processor's from here on (Envoy's local replies tell it from "processor down"),
    // and names the caller's API for the replies Envoy makes itself after this (envoy/bootstrap.ts).
    metadata: { [METADATA_NAMESPACE]: { request_id: caller.rid, [CALLER_API_METADATA_KEY]: caller.caller.id } },
    answer: routerAnswer(gw, x, reader, writer, pool.done),
  };
}

/**
 * A chained call: Envoy tries the chain cluster's members in order (retrying on 429, 5xx,
 * refused connections and silent attempts) and the per-attempt processor translates each one.
 * The answer comes back already in the caller's API; this side only meters it.
 */
function forwardChained(gw: GatewayContext, x: ForwardInput): Forward {
  const { caller, request, plan } = x;
  const chain = plan.chain!;
  const { chat } = request;
  const route = encodeRouteContext(
    {
      rid: caller.rid,
      caller: caller.caller.id,
      model: chat.model,
      stream: chat.stream,
      // OpenAI streams always carry usage to this side, which hides it again if the caller did not ask.
      includeUsage: caller.caller.id === 'openai' ? true : chat.includeUsage === true,
      tenant: caller.principal.tenant,
      members: chain.members.map((m) => m.id),
      exp: Date.now() + ROUTE_CONTEXT_TTL_MS,
    },
    gw.routeKey,
  );
  const reader = answerReader(x, caller.caller);
  // Envoy re-sends the body as this filter left it to every attempt: the redacted one, if redacted.
  const body = redactedBody(request);
  return {
    set: [[CLUSTER_HEADER, chainClusterName(chain.head, chain.mask)], ['x-envoy-max-retries', String(chain.members.length - 1)], ...lengthOf(body)],
    remove: ['accept-encoding'],
    body,
    clearRouteCache: true,
    // Dynamic metadata, not a header: Envoy re-sends one header map to every attempt, so a header
    // removed before the first provider would be gone for the next attempt's processor.
    metadata: { [METADATA_NAMESPACE]: { [ROUTE_CONTEXT_KEY]: route, request_id: caller.rid, [CALLER_API_METADATA_KEY]: caller.caller.id } },
    answer: routerAnswer(gw, x, reader, x.cache.status === 'bypass' ? undefined : x.cache.writer, undefined),
  };
}

/**
 * Who reads the answer: the OpenAI pass-through tap between OpenAI ends, else the translator
 * (which passes same-API bytes unchanged). A stream whose values go back to the caller is
 * re-encoded whatever the APIs, since a placeholder may be cut across its events.
 */
function answerReader(x: ForwardInput, answerFormat: WireFormat): AnswerReader {
  const { caller, request } = x;
  const { chat } = request;
  const restore = chat.stream ? x.pii?.restore : undefined;
  if (caller.caller.id === 'openai' && answerFormat.id === 'openai' && !restore) {
    return new OpenAIPassthrough({ stream: chat.stream, callerWantsUsage: chat.includeUsage === true, callerModel: chat.model });
  }
  return new AnswerTranslator(caller.caller, answerFormat, { stream: chat.stream, callerModel: chat.model, includeUsage: chat.includeUsage === true, restore });
}

/** The caller's body as redacted, when redaction changed it; undefined when its own bytes may go on. */
function redactedBody(request: ChatRequest): Buffer | undefined {
  return request.rewritten ? Buffer.from(JSON.stringify(request.parsed), 'utf8') : undefined;
}

function lengthOf(body: Buffer | undefined): HeaderPair[] {
  return body ? [['content-length', String(body.length)]] : [];
}

function routerAnswer(
  gw: GatewayContext,
  x: ForwardInput,
  reader: AnswerReader,
  writer: CacheWriter | undefined,
  poolDone: ((o: { status: number; busy?: boolean }) => void) | undefined,
): RouterAnswer {
  const { caller, plan } = x;
  const cacheStatus = x.cache.status === 'miss' ? 'miss' : 'bypass';
  const meter = new CallMeter(gw, {
    startedAt: x.startedAt,
    rid: caller.rid,
    tenant: caller.principal.tenant,
    keyId: caller.principal.keyId,
    stream: x.request.chat.stream,
    model: plan.model,
    reservation: x.admission.reservation,
    canary: plan.canary,
    baseline: plan.decision.baseline,
    poolDone,
    cache: cacheStatus,
    requestedModel: x.request.chat.model,
    route: plan.decision,
  });
  return new RouterAnswer(gw, {
    caller,
    plan,
    meter,
    reader,
    writer,
    quotaHeaders: x.admission.quotaHeaders,
    stream: x.request.chat.stream,
    cacheStatus,
    promptTokens: estimateTokens(x.request.bodyBytes),
    pii: x.pii,
    guard: x.guard,
  });
}

/**
 * A pool model: the pool picks the endpoints (least loaded, adapter already loaded, the
 * conversation's endpoint) and Envoy's override-host load balancer takes them in that order,
 * the later ones on retry.
 */
function poolPick(
  gw: GatewayContext,
  model: Model,
  conversation: string | undefined,
): { headers: HeaderPair[]; done?: (o: { status: number; busy?: boolean }) => void } {
  const pool = gw.routing.pools.get(model.provider.id);
  if (!pool) return { headers: [] };
  const pick = pool.pick({ model: model.upstreamId, affinityKey: conversation });
  if (pick.endpoints.length === 0) return { headers: [] };
  const done = pool.begin(pick.endpoints[0]!);
  const retries = Math.min(pick.endpoints.length - 1, 2);
  const headers: HeaderPair[] = [[DESTINATION_HEADER, pick.endpoints.slice(0, retries + 1).join(',')]];
  if (retries > 0)
    headers.push(
      ['x-envoy-retry-on', 'connect-failure,reset,retriable-status-codes'],
      ['x-envoy-retriable-status-codes', '503'],
      ['x-envoy-max-retries', String(retries)],
    );
  return { headers, done };
}

import { GatewayError } from '../errors.js';
import { cacheHitRecord } from '../ledger/record.js';
import { usageReply } from '../ledger/usage-endpoint.js';
import { routeDecisionCounter } from '../metering/bound-metrics.js';
import { modelObject } from '../providers/openai/models.js';
import { isLocal } from '../route/router.js';
import type { BodyResult, CallHandler, HeadResult, LocalReply } from '../server/call-handler.js';
import type { HeaderRecord } from '../server/codec/messages.js';
import { admit } from './admission.js';
import { authenticate, callerOfRequest, DEFAULT_CALLER, readHead, requestId, type Caller, type RequestHead } from './caller.js';
import { consultCache } from './cache.js';
import { readChatRequest } from './chat.js';
import type { GatewayContext } from './context.js';
import { forward } from './forward.js';
import { type GuardScreen, promptInjectionRefused, screenGuard, withGuardHeaders } from './guard.js';
import { screenPii } from './pii.js';
import { planRoute, type RoutePlan } from './plan.js';
import { errorReply, jsonReply, ReplyInstead } from './replies.js';

/** The router-level call: what the caller sent, and when it reached the gateway. */
export interface CallContext {
  caller: Caller;
  startedAt: bigint;
}

/**
 * The request path of an LLM call, as stages, each one concern:
 *   headers → who is calling (API, endpoint, key or mesh identity);
 *   body    → parse → prompt injection (check, or refuse) → personal data (count or redact) →
 *             plan the route → cache → limits → credential → forward.
 * Every stage throws the caller's error (a GatewayError); this turns it into a reply in the
 * caller's API.
 */
export class RouterHandler implements CallHandler<CallContext> {
  constructor(private readonly gw: GatewayContext) {}

  async head(headers: HeaderRecord): Promise<HeadResult<CallContext>> {
    const startedAt = process.hrtime.bigint();
    const rid = requestId(headers);
    let head: RequestHead | undefined;
    try {
      head = readHead(headers, rid);
      const caller = await authenticate(this.gw, head);
      const length = Number(headers['content-length'] ?? '0');
      if (caller.endpoint.op === 'chat' && length > this.gw.maxRequestBytes) throw tooLarge(length, this.gw.maxRequestBytes);
      return { ctx: { caller, startedAt }, strip: caller.strip };
    } catch (err) {
      return { reply: errorReply(this.gw, head?.caller ?? callerOfRequest(headers), err, { rid }) };
    }
  }

  async body({ caller, startedAt }: CallContext, body: Buffer): Promise<BodyResult> {
    const gw = this.gw;
    let plan: RoutePlan | undefined;
    let guard: GuardScreen | undefined;
    try {
      const listed = this.modelLists(caller);
      if (listed) return { reply: listed };
      if (caller.endpoint.op === 'usage') return { reply: await usageReply(gw.ledger, caller) };
      if (body.length === 0) throw new GatewayError('invalid_request', 'The request body is empty: expected a JSON object.');
      const chat = readChatRequest(caller, body);
      // Before PII redaction: the guard reads the text as the caller sent it.
      guard = screenGuard(gw, caller, chat);
      if (guard?.blocked) throw promptInjectionRefused();
      const { request, pii } = screenPii(gw, caller, chat);
      plan = planRoute(gw, caller, request.chat);
      const routed = plan.decision.routedTo;
      if (routed) routeDecisionCounter(gw.metrics, caller.principal.tenant, plan.decision.tier!, plan.decision.domain!, isLocal(routed)).inc();
      if (routed && routed.id !== request.chat.model) {
        gw.metrics.reroutes.inc({ tenant: caller.principal.tenant, requested_model: request.chat.model, chosen_model: routed.id });
      }
      // Started now, so the lookup overlaps the cache and the limits.
      const credential = this.tenantCredential(caller, plan);
      const cache = await consultCache(gw, caller, request, plan, pii);
      if (cache.status === 'hit') {
        gw.ledger?.append(cacheHitRecord(cache.reply, { startedAt, keyId: caller.principal.keyId, requestedModel: request.chat.model, route: plan.decision }));
        return { reply: withGuardHeaders(cache.reply, guard) };
      }
      const admission = await admit(gw, caller, request, plan);
      return { forward: forward(gw, { caller, request, pii, guard, plan, cache, admission, credential: await credential, startedAt }) };
    } catch (err) {
      return { reply: withGuardHeaders(errorReply(gw, caller.caller, err, { rid: caller.rid, tenant: caller.principal.tenant, plan }), guard) };
    }
  }

  failure(err: unknown, ctx?: CallContext): LocalReply {
    if (err instanceof ReplyInstead) return err.reply;
    const caller = ctx?.caller;
    return errorReply(this.gw, caller?.caller ?? DEFAULT_CALLER, err, { rid: caller?.rid, tenant: caller?.principal.tenant });
  }

  /** The catalog in the caller's API (GET endpoints: no body, no provider call). */
  private modelLists(caller: Caller): LocalReply | undefined {
    const e = caller.endpoint;
    const base = { rid: caller.rid, tenant: caller.principal.tenant };
    if (e.op === 'models') return jsonReply({ ...base, body: this.gw.modelsListBodies[e.api], details: 'models_list' });
    if (e.op === 'model') return jsonReply({ ...base, body: JSON.stringify(modelObject(this.gw.resolver.model(e.model))), details: 'model_get' });
    return undefined;
  }

  /** The tenant's own provider key, if it has one; the platform's otherwise (also while the store is down). */
  private async tenantCredential(caller: Caller, plan: RoutePlan): Promise<string | undefined> {
    const store = this.gw.tenantCredentials;
    if (!store || plan.chain) return undefined;
    // Never rejects: it may be left unawaited (a cache hit, a refusal) and the store fails soft.
    const c = await store.lookup(caller.principal.tenant, plan.model.provider.id).catch(() => 'unavailable' as const);
    if (typeof c === 'object') return c.key;
    if (c === 'unavailable')
      this.gw.log.warn({ rid: caller.rid, tenant: caller.principal.tenant }, 'tenant credential unavailable; using the platform credential');
    return undefined;
  }
}

function tooLarge(bytes: number, max: number): GatewayError {
  return new GatewayError('too_large', `Request body of ${bytes} bytes exceeds the gateway limit of ${max} bytes.`, { code: 'request_too_large' });
}

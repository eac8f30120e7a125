import { GatewayError } from '../errors.js';
import { limitSubjects, quotaHeaders, worstCase } from '../limits/admission.js';
import { LimiterUnavailable, type Reservation } from '../limits/index.js';
import type { FormatId } from '../providers/canonical/types.js';
import type { HeaderPair } from '../server/codec/messages.js';
import type { Caller } from './caller.js';
import type { ChatRequest } from './chat.js';
import type { GatewayContext } from './context.js';
import type { RoutePlan } from './plan.js';

/** A call let through the limits: what it reserved, and the quota left to show the caller. */
export interface Admission {
  reservation?: Reservation;
  quotaHeaders: HeaderPair[];
}

const NO_LIMITS: Admission = { quotaHeaders: [] };

/**
 * Rate limits and budgets: the call's worst case is reserved atomically before it goes out
 * (across replicas when Redis backs the limiter) and reconciled with the real usage when it ends.
 * 429 naming the limit; 503 while the limiter's store is down, unless LIMITS_FAIL_OPEN.
 */
export async function admit(gw: GatewayContext, caller: Caller, request: ChatRequest, plan: RoutePlan): Promise<Admission> {
  const subjects = limitSubjects(caller.principal, caller.policy);
  if (subjects.length === 0) return NO_LIMITS;
  const tenant = caller.principal.tenant;
  const estimate = worstCase(request.bodyBytes, { max_tokens: request.chat.maxTokens, n: choicesAsked(caller.caller.id, request.parsed) }, plan.model);
  let adm: Awaited<ReturnType<GatewayContext['limiter']['admit']>>;
  try {
    adm = await gw.limiter.admit(subjects, estimate);
  } catch (err) {
    if (!(err instanceof LimiterUnavailable)) throw err;
    gw.metrics.limitRejections.inc({ tenant, limit: 'unavailable', scope: 'none' });
    if (!gw.limitsFailOpen) {
      throw new GatewayError('unavailable', 'Rate limits cannot be checked right now. Retry shortly.', { code: 'limits_unavailable', retryAfterSeconds: 1 });
    }
    gw.log.warn({ rid: caller.rid, tenant }, 'limiter unavailable: letting the call through (LIMITS_FAIL_OPEN)');
    return NO_LIMITS;
  }
  gw.metrics.limitStanding.seen(tenant, adm.standing);
  if (!adm.ok) {
    gw.metrics.limitRejections.inc({ tenant, limit: adm.limit, scope: adm.scope });
    const budget = adm.limit === 'usd_per_day' || adm.limit === 'usd_per_month';
    throw new GatewayError('rate_limit', `${adm.message[0]!.toUpperCase()}${adm.message.slice(1)}.`, {
      code: budget ? 'budget_exceeded' : 'rate_limit_exceeded',
      retryAfterSeconds: adm.retryAfterSeconds,
    });
  }
  return { reservation: adm.reservation, quotaHeaders: quotaHeaders(adm.remaining, adm.limits) };
}

/**
 * How many answers the call asks for, which multiplies its output. Only APIs that have such a
 * field count it (their request validation has bounded it already); any other body's stray `n`
 * means nothing and must not shrink or inflate the reservation.
 */
export function choicesAsked(api: FormatId, parsed: Record<string, unknown>): number {
  const n = api === 'openai' ? parsed.n : api === 'gemini' ? (parsed.generationConfig as { candidateCount?: unknown } | undefined)?.candidateCount : undefined;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : 1;
}

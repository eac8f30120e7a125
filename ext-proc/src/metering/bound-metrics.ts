import type { Counter, Histogram } from 'prom-client';
import type { GatewayMetrics } from './metrics.js';

const OPERATION = 'chat';
/** More label sets than this means something unbounded got into a label: start over rather than grow. */
const MAX_SETS = 20_000;

/**
 * The per-call metrics of one (tenant, provider, model), bound once: prom-client otherwise
 * hashes the label object of every observation, several times per call.
 */
export interface CallInstruments {
  timeToFirstToken: Histogram.Internal<string>;
  inputTokens: Histogram.Internal<string>;
  outputTokens: Histogram.Internal<string>;
  cost: Counter.Internal;
  aborted: Counter.Internal;
  duration(errorType: string): Histogram.Internal<string>;
  requests(statusCode: string): Counter.Internal;
}

const cache = new WeakMap<GatewayMetrics, Map<string, CallInstruments>>();

export function callInstruments(m: GatewayMetrics, tenant: string, provider: string, model: string): CallInstruments {
  let sets = cache.get(m);
  if (!sets) cache.set(m, (sets = new Map()));
  const key = `${tenant}\u0000${provider}\u0000${model}`;
  let found = sets.get(key);
  if (found) return found;
  if (sets.size >= MAX_SETS) sets.clear();
  const labels = { tenant, gen_ai_provider_name: provider, gen_ai_request_model: model };
  const durations = new Map<string, Histogram.Internal<string>>();
  const statuses = new Map<string, Counter.Internal>();
  found = {
    timeToFirstToken: m.timeToFirstToken.labels({ ...labels, gen_ai_operation_name: OPERATION }),
    inputTokens: m.tokenUsage.labels({ ...labels, gen_ai_token_type: 'input', gen_ai_operation_name: OPERATION }),
    outputTokens: m.tokenUsage.labels({ ...labels, gen_ai_token_type: 'output', gen_ai_operation_name: OPERATION }),
    cost: m.costUsd.labels(labels),
    aborted: m.streamsAborted.labels(labels),
    duration(errorType) {
      let d = durations.get(errorType);
      if (!d) durations.set(errorType, (d = m.requestDuration.labels({ ...labels, gen_ai_operation_name: OPERATION, error_type: errorType })));
      return d;
    },
    requests(statusCode) {
      let r = statuses.get(statusCode);
      if (!r) statuses.set(statusCode, (r = m.requests.labels({ ...labels, status_code: statusCode })));
      return r;
    },
  };
  sets.set(key, found);
  return found;
}

const decisions = new WeakMap<GatewayMetrics, Map<string, Counter.Internal>>();

/** The router's decision counter for one (tenant, tier, domain, local), bound once. */
export function routeDecisionCounter(m: GatewayMetrics, tenant: string, tier: string, domain: string, local: boolean): Counter.Internal {
  let sets = decisions.get(m);
  if (!sets) decisions.set(m, (sets = new Map()));
  const key = `${tenant}\u0000${tier}\u0000${domain}\u0000${local}`;
  let found = sets.get(key);
  if (found) return found;
  if (sets.size >= MAX_SETS) sets.clear();
  found = m.routeDecisions.labels({ tenant, tier, domain, local: String(local) });
  sets.set(key, found);
  return found;
}

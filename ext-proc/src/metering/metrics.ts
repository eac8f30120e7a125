import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LimitStanding } from '../limits/metrics.js';

/*
 * Metric names follow the OpenTelemetry GenAI semantic conventions (dots become underscores);
 * labels keep their attribute names, plus `tenant`, which the conventions leave to the operator.
 */

export interface GatewayMetrics {
  registry: Registry;
  tokenUsage: Histogram<'tenant' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'gen_ai_token_type' | 'gen_ai_operation_name'>;
  requestDuration: Histogram<'tenant' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'gen_ai_operation_name' | 'error_type'>;
  timeToFirstToken: Histogram<'tenant' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'gen_ai_operation_name'>;
  costUsd: Counter<'tenant' | 'gen_ai_provider_name' | 'gen_ai_request_model'>;
  requests: Counter<'tenant' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'status_code'>;
  rejections: Counter<'reason' | 'status_code'>;
  streamsAborted: Counter<'tenant' | 'gen_ai_provider_name' | 'gen_ai_request_model'>;
  cacheLookups: Counter<'tenant' | 'gen_ai_request_model' | 'result'>;
  cacheSavedUsd: Counter<'tenant' | 'gen_ai_request_model'>;
  cacheWrites: Counter<'tenant' | 'gen_ai_request_model' | 'result'>;
  limitRejections: Counter<'tenant' | 'limit' | 'scope'>;
  /** Calls the router sent to another model than the one named ('auto' included). */
  reroutes: Counter<'tenant' | 'requested_model' | 'chosen_model'>;
  /** What routed calls cost less than the policy's premium baseline would have, for the same usage. */
  routingSavedUsd: Counter<'tenant'>;
  /** One per fallback-chain attempt, by the member tried and what it answered. */
  upstreamAttempts: Counter<'tenant' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'status_code'>;
  /** Personal data found in prompts, by type; `action` says what was done with it. Never the values. */
  piiDetected: Counter<'tenant' | 'type' | 'action'>;
  /**
   * Calls checked by the prompt-injection guard: `verdict` clean/flagged, `channel` of the
   * highest-scoring part (user, data, none), `action` pass/block.
   */
  guardChecks: Counter<'tenant' | 'verdict' | 'channel' | 'action'>;
  /** Chained calls whose every member failed, by the chain's head. */
  fallbackExhausted: Counter<'tenant' | 'gen_ai_request_model'>;
  /** Models the router chose, by the request's class and whether the model is local. */
  routeDecisions: Counter<'tenant' | 'tier' | 'domain' | 'local'>;
  /** Tenants' budgets, spend and remaining limits as the limiter last saw them. */
  limitStanding: LimitStanding;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'llm_gateway_process_' });
  return {
    registry,
    tokenUsage: new Histogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens used per call, by token type (input/output).',
      labelNames: ['tenant', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_token_type', 'gen_ai_operation_name'],
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'gen_ai_server_request_duration_seconds',
      help: 'Time from the request reaching the gateway to the last byte of the response.',
      labelNames: ['tenant', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_operation_name', 'error_type'],
      buckets: [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: 'gen_ai_server_time_to_first_token_seconds',
      help: 'Time from the request reaching the gateway to the first response body chunk of a stream.',
      labelNames: ['tenant', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_operation_name'],
      buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
      registers: [registry],
    }),
    costUsd: new Counter({
      name: 'llm_gateway_cost_usd_total',
      help: 'Provider cost in USD computed from reported usage and catalog prices.',
      labelNames: ['tenant', 'gen_ai_provider_name', 'gen_ai_request_model'],
      registers: [registry],
    }),
    requests: new Counter({
      name: 'llm_gateway_requests_total',
      help: 'LLM calls that reached a provider, by response status.',
      labelNames: ['tenant', 'gen_ai_provider_name', 'gen_ai_request_model', 'status_code'],
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'llm_gateway_rejections_total',
      help: 'Requests answered by the gateway itself with an error (auth, validation, size, ...).',
      labelNames: ['reason', 'status_code'],
      registers: [registry],
    }),
    streamsAborted: new Counter({
      name: 'llm_gateway_streams_aborted_total',
      help: 'Responses cut off before their end (client went away or upstream reset).',
      labelNames: ['tenant', 'gen_ai_provider_name', 'gen_ai_request_model'],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: 'llm_gateway_cache_lookups_total',
      help: 'Response cache lookups by result (hit, miss).',
      labelNames: ['tenant', 'gen_ai_request_model', 'result'],
      registers: [registry],
    }),
    cacheSavedUsd: new Counter({
      name: 'llm_gateway_cache_saved_usd_total',
      help: 'Provider cost avoided by answering from the cache (catalog prices of the cached usage).',
      labelNames: ['tenant', 'gen_ai_request_model'],
      registers: [registry],
    }),
    cacheWrites: new Counter({
      name: 'llm_gateway_cache_writes_total',
      help: 'Answers offered to the cache, by result (stored, skipped: too large or store unavailable, failed).',
      labelNames: ['tenant', 'gen_ai_request_model', 'result'],
      registers: [registry],
    }),
    limitRejections: new Counter({
      name: 'llm_gateway_limit_rejections_total',
      help: 'Calls refused by a rate limit or budget (limit = rpm, tpm, usd_per_day, usd_per_month; unavailable = limiter store down).',
      labelNames: ['tenant', 'limit', 'scope'],
      registers: [registry],
    }),
    reroutes: new Counter({
      name: 'llm_gateway_reroutes_total',
      help: 'Calls the router sent to another model than the one requested (requested_model "auto" included).',
      labelNames: ['tenant', 'requested_model', 'chosen_model'],
      registers: [registry],
    }),
    routingSavedUsd: new Counter({
      name: 'llm_gateway_routing_saved_usd_total',
      help: "USD routed calls cost less than their policy's premium baseline model would have for the same tokens.",
      labelNames: ['tenant'],
      registers: [registry],
    }),
    upstreamAttempts: new Counter({
      name: 'llm_gateway_upstream_attempts_total',
      help: 'Attempts made down fallback chains, by the member tried and the status it answered.',
      labelNames: ['tenant', 'gen_ai_provider_name', 'gen_ai_request_model', 'status_code'],
      registers: [registry],
    }),
    piiDetected: new Counter({
      name: 'llm_gateway_pii_detected_total',
      help: 'Personal data found in prompts, by type (email, phone, card, iban, dni, nie, ssn, ip); action = detected (counted only) or redacted (hidden from the provider).',
      labelNames: ['tenant', 'type', 'action'],
      registers: [registry],
    }),
    guardChecks: new Counter({
      name: 'llm_gateway_guard_total',
      help: 'Calls checked by the prompt-injection guard: verdict (clean, flagged), channel of the highest-scoring text (user, data, none), action (pass, block).',
      labelNames: ['tenant', 'verdict', 'channel', 'action'],
      registers: [registry],
    }),
    fallbackExhausted: new Counter({
      name: 'llm_gateway_fallback_exhausted_total',
      help: 'Chained calls whose whole fallback chain failed (the last member answered 429 or 5xx), by the chain head.',
      labelNames: ['tenant', 'gen_ai_request_model'],
      registers: [registry],
    }),
    routeDecisions: new Counter({
      name: 'llm_gateway_route_decisions_total',
      help: "Models chosen by the router (auto, rerouted or local-only calls), by the request's complexity tier and domain, and whether the model is local.",
      labelNames: ['tenant', 'tier', 'domain', 'local'],
      registers: [registry],
    }),
    limitStanding: new LimitStanding(registry),
  };
}

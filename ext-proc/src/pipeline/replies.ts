import { randomUUID } from 'node:crypto';
import { METADATA_NAMESPACE, RESPONSE_HEADER } from '../contract.js';
import { GatewayError } from '../errors.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { LocalReply } from '../server/call-handler.js';
import type { HeaderPair } from '../server/codec/messages.js';
import type { GatewayContext } from './context.js';
import type { Decision, RoutePlan } from './plan.js';

/** The router's explanation, as response headers. */
export function decisionHeaders(d: Decision | undefined): HeaderPair[] {
  if (!d) return [];
  const out: HeaderPair[] = [[RESPONSE_HEADER.routeReason, d.reason]];
  if (d.tier) out.push([RESPONSE_HEADER.tier, d.tier]);
  if (d.domain) out.push([RESPONSE_HEADER.domain, d.domain]);
  return out;
}

/**
 * A failure answered by the gateway itself, in the caller's API and with its status (DESIGN §4).
 * Anything but a GatewayError is a bug: logged, and answered as a plain 500 without details.
 */
export function errorReply(
  gw: Pick<GatewayContext, 'metrics' | 'log'>,
  caller: WireFormat,
  err: unknown,
  o: { rid?: string; tenant?: string; plan?: RoutePlan } = {},
): LocalReply {
  const e = err instanceof GatewayError ? err : new GatewayError('internal', 'The gateway failed to process the request.', { code: 'internal_error' });
  if (!(err instanceof GatewayError)) gw.log.error({ rid: o.rid, err }, 'unexpected error while processing');
  gw.metrics.rejections.inc({ reason: e.kind, status_code: String(e.status) });
  const rid = o.rid || randomUUID();
  const headers: HeaderPair[] = [
    ['content-type', 'application/json'],
    [RESPONSE_HEADER.requestId, rid],
    [RESPONSE_HEADER.cache, 'bypass'],
  ];
  if (o.plan) headers.push([RESPONSE_HEADER.model, o.plan.model.id], [RESPONSE_HEADER.provider, o.plan.model.provider.id], ...decisionHeaders(o.plan.decision));
  if (e.opts.retryAfterSeconds !== undefined) headers.push(['retry-after', String(e.opts.retryAfterSeconds)]);
  const record: Record<string, string> = { request_id: rid, error: e.opts.code ?? e.kind };
  if (o.tenant) record.tenant = o.tenant;
  return {
    status: e.status,
    headers,
    body: Buffer.from(caller.renderError(e), 'utf8'),
    details: `llm_gateway_${e.kind}`,
    metadata: { [METADATA_NAMESPACE]: record },
  };
}

/**
 * Thrown while answering a call whose caller is known: the call ends with this reply instead
 * (Envoy's immediate response), already in the caller's API. E.g. a 2xx with no body at all,
 * which no body message will follow to carry an error.
 */
export class ReplyInstead extends Error {
  constructor(readonly reply: LocalReply) {
    super(reply.details);
  }
}

/** A JSON answer the gateway has itself (model lists). */
export function jsonReply(o: { rid: string; tenant: string; body: Buffer | string; details: string }): LocalReply {
  return {
    status: 200,
    headers: [
      ['content-type', 'application/json'],
      [RESPONSE_HEADER.requestId, o.rid],
      [RESPONSE_HEADER.cache, 'bypass'],
    ],
    body: typeof o.body === 'string' ? Buffer.from(o.body, 'utf8') : o.body,
    details: o.details,
    metadata: { [METADATA_NAMESPACE]: { request_id: o.rid, tenant: o.tenant } },
  };
}

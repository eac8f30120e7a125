import { GatewayError } from '../errors.js';
import type { Caller } from '../pipeline/caller.js';
import { jsonReply } from '../pipeline/replies.js';
import type { LocalReply } from '../server/call-handler.js';
import type { Ledger } from './ledger.js';
import { parseUsageParams, usageAnswer } from './usage-query.js';

/** The query parameters `/v1/usage` takes (`key`: a gateway key given in the URL, as Gemini's SDKs do). */
const PARAMS = new Set(['from', 'to', 'group_by', 'key']);

/**
 * `GET /v1/usage?from=&to=&group_by=day|model|provider|key`: the caller's own tenant's usage,
 * whatever the caller asks (there is no tenant parameter). Bad parameters are 400s naming the
 * parameter; a ledger that is off is a 404, one that cannot be read a 503.
 */
export async function usageReply(ledger: Ledger | undefined, caller: Caller, now = new Date()): Promise<LocalReply> {
  if (!ledger) {
    throw new GatewayError('not_found', 'The usage ledger is off on this gateway (LEDGER=off).', { code: 'ledger_off' });
  }
  const query = caller.query ?? new URLSearchParams();
  for (const name of new Set(query.keys())) {
    if (!PARAMS.has(name)) {
      throw new GatewayError('invalid_request', `Unknown parameter ${JSON.stringify(name.slice(0, 40))}: /v1/usage takes from, to and group_by.`, {
        param: name.slice(0, 40),
        code: 'unknown_parameter',
      });
    }
    if (name !== 'key' && query.getAll(name).length > 1) {
      throw new GatewayError('invalid_request', `${name} is given more than once.`, { param: name, code: 'invalid_parameter' });
    }
  }
  const q = parseUsageParams({ from: query.get('from'), to: query.get('to'), group_by: query.get('group_by') }, caller.principal.tenant, now);
  const buckets = await ledger.usage(q);
  return jsonReply({ rid: caller.rid, tenant: q.tenant, body: JSON.stringify(usageAnswer(q, buckets)), details: 'usage' });
}

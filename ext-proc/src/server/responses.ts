import type { HeaderValueOption, ProcessingMode, ProcessingResponse } from '../../../protos/ext-proc.js';
import type { StatusCode } from '../../../protos/generated/envoy/type/v3/StatusCode.js';
import type { Struct } from '../../../protos/generated/google/protobuf/Struct.js';
import { setHeader } from '../util/headers.js';

export interface Mutation {
  set?: HeaderValueOption[];
  remove?: string[];
  body?: Buffer;
  clearRouteCache?: boolean;
}

function common(m: Mutation) {
  return {
    status: 'CONTINUE' as const,
    header_mutation: m.set || m.remove ? { set_headers: m.set ?? [], remove_headers: m.remove ?? [] } : null,
    // An empty replacement must be sent as clear_body: an empty bytes field is indistinguishable from unset.
    body_mutation: m.body ? (m.body.length > 0 ? { body: m.body } : { clear_body: true }) : null,
    clear_route_cache: m.clearRouteCache ?? false,
  };
}

export const continueRequestHeaders = (m: Mutation = {}): ProcessingResponse => ({ request_headers: { response: common(m) } });
export const continueRequestBody = (m: Mutation = {}): ProcessingResponse => ({ request_body: { response: common(m) } });
export const continueResponseBody = (m: Mutation = {}, metadata?: Struct): ProcessingResponse => ({
  response_body: { response: common(m) },
  ...(metadata ? { dynamic_metadata: metadata } : {}),
});

export function continueResponseHeaders(m: Mutation, responseBodyMode: 'BUFFERED' | 'STREAMED'): ProcessingResponse {
  const mode: ProcessingMode = {
    request_header_mode: 'SEND',
    response_header_mode: 'SEND',
    request_body_mode: 'BUFFERED',
    response_body_mode: responseBodyMode,
    request_trailer_mode: 'SKIP',
    response_trailer_mode: 'SKIP',
  };
  return { response_headers: { response: common(m) }, mode_override: mode };
}

/** A reply Envoy sends to the client itself: errors, and answers that need no upstream. */
export function immediate(
  status: number,
  body: string | Buffer,
  headers: Array<[string, string]>,
  details: string,
  metadata?: Struct,
): ProcessingResponse {
  return {
    immediate_response: {
      status: { code: status as StatusCode },
      headers: { set_headers: headers.map(([k, v]) => setHeader(k, v)), remove_headers: [] },
      body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
      details,
    },
    ...(metadata ? { dynamic_metadata: metadata } : {}),
  };
}

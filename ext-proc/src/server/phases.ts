import type { ProcessingRequest, ProcessingResponse } from '../../../protos/ext-proc.js';
import { GatewayError } from '../errors.js';

type Phase<R> = (req: ProcessingRequest) => R;

/** Routes one ext_proc message to its phase's handler; trailers (never asked for) pass through. */
export function dispatchPhase<R>(
  req: ProcessingRequest,
  h: { requestHeaders: Phase<R>; requestBody: Phase<R>; responseHeaders: Phase<R>; responseBody: Phase<R> },
): R | ProcessingResponse {
  switch (req.request) {
    case 'request_headers':
      return h.requestHeaders(req);
    case 'request_body':
      return h.requestBody(req);
    case 'response_headers':
      return h.responseHeaders(req);
    case 'response_body':
      return h.responseBody(req);
    case 'request_trailers':
      return { request_trailers: {} };
    case 'response_trailers':
      return { response_trailers: {} };
    default:
      throw new GatewayError('internal', 'Unexpected message from the proxy.');
  }
}

import { GatewayError } from '../errors.js';
import type { WireFormat } from '../providers/canonical/format.js';
import { responseId } from '../providers/formats.js';

/** The error a 200 the gateway cannot read as an answer is answered with: a 502 in the caller's API. */
export function unreadableAnswer(what?: string): GatewayError {
  return new GatewayError('upstream', `The upstream provider sent an answer the gateway could not read${what ? ` (${what})` : ''}.`, {
    code: 'upstream_invalid_response',
  });
}

/** The caller's API's error event for a stream the gateway ends itself (a 502: the provider's stream broke). */
export function errorEventFor(caller: WireFormat, model: string): (message: string) => string {
  return (message) =>
    caller
      .createStreamEncoder({ id: responseId(caller.id), model, created: Math.floor(Date.now() / 1000), includeUsage: false })
      .encode([{ type: 'error', status: 502, message }]);
}

/**
 * Why a 200 answer's content type is not one of the backend API's answers (JSON for a whole
 * answer, the API's stream type for a stream), or undefined when it is, or is not stated (the
 * body then tells). An HTML page or a text label is refused before its body is read.
 */
export function contentTypeProblem(backend: WireFormat, stream: boolean, contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const mime = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
  if (mime === '') return undefined;
  if (stream ? mime === backend.streamContentType : mime === 'application/json' || mime.endsWith('+json')) return undefined;
  return `content-type ${mime.slice(0, 80)}, not ${stream ? backend.streamContentType : 'application/json'}`;
}

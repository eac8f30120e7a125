import type { WireFormat } from '../canonical/format.js';
import { parseAnthropicError, renderAnthropicError } from './errors.js';
import { buildAnthropicRequest, parseAnthropicRequest } from './request.js';
import { parseAnthropicResponse, renderAnthropicResponse } from './response.js';
import { AnthropicStreamDecoder, AnthropicStreamEncoder, checkAnthropicStreamEvent } from './stream.js';

/** The API version whose request and event shapes this folder implements. */
export const ANTHROPIC_VERSION = '2023-06-01';

export const anthropicFormat: WireFormat = {
  id: 'anthropic',
  // Model and streaming are both in the body; nothing in the URL adds to them.
  parseRequest: (body) => parseAnthropicRequest(body),
  buildRequest: buildAnthropicRequest,
  upstreamCall({ basePath, credential }) {
    const headers: Array<[string, string]> = [];
    if (credential !== undefined) headers.push(['x-api-key', credential]);
    headers.push(['anthropic-version', ANTHROPIC_VERSION]);
    return { path: `${basePath}/messages`, headers };
  },
  parseResponse: parseAnthropicResponse,
  renderResponse: renderAnthropicResponse,
  createStreamDecoder: () => new AnthropicStreamDecoder(),
  createStreamEncoder: (ctx) => new AnthropicStreamEncoder(ctx),
  streamContentType: 'text/event-stream',
  streamFraming: 'sse',
  checkStreamEvent: checkAnthropicStreamEvent,
  renderError: renderAnthropicError,
  parseError: parseAnthropicError,
};

export { anthropicModelsBody, anthropicModelsPage, type AnthropicModelEntry, type AnthropicModelsPage } from './models.js';

import type { WireFormat } from '../canonical/format.js';
import { parseOllamaError, renderOllamaError } from './errors.js';
import { buildOllamaRequest, parseOllamaRequest } from './request.js';
import { parseOllamaResponse, renderOllamaResponse } from './response.js';
import { checkOllamaStreamLine, createOllamaStreamDecoder, createOllamaStreamEncoder, OLLAMA_STREAM_CONTENT_TYPE } from './stream.js';

/** Ollama's native chat API (`POST /api/chat`), as caller format and as backend format. */
export const ollamaFormat: WireFormat = {
  id: 'ollama',
  // Ollama puts model and streaming in the body only, so the inbound context has nothing to add.
  parseRequest: (body) => parseOllamaRequest(body),
  buildRequest: buildOllamaRequest,
  upstreamCall: ({ basePath, credential }) => ({
    path: `${basePath}/api/chat`,
    // Ollama has no auth of its own; a credential is for an authenticating proxy in front of it.
    headers: credential !== undefined && credential !== '' ? [['authorization', `Bearer ${credential}`]] : [],
  }),
  parseResponse: parseOllamaResponse,
  renderResponse: renderOllamaResponse,
  createStreamDecoder: createOllamaStreamDecoder,
  createStreamEncoder: (ctx) => createOllamaStreamEncoder(ctx),
  streamContentType: OLLAMA_STREAM_CONTENT_TYPE,
  streamFraming: 'ndjson',
  checkStreamEvent: checkOllamaStreamLine,
  renderError: renderOllamaError,
  parseError: parseOllamaError,
};

export { ollamaTagsBody, ollamaTagModel, type OllamaTagModel } from './models.js';
export { validateOllamaRequest } from './request.js';

import type { WireFormat } from '../canonical/format.js';
import { parseOpenAIError, renderOpenAIError } from './errors.js';
import { validateChatRequest } from './request.js';
import { parseChatCompletion, renderChatCompletion } from './response.js';
import { OpenAIStreamDecoder, OpenAIStreamEncoder } from './stream-translate.js';
import { checkOpenAIStreamEvent } from './stream.js';
import { toCanonicalRequest, toOpenAIRequestBody } from './translate-request.js';

/** OpenAI Chat Completions, as the caller's format and as a backend's. */
export const openaiFormat: WireFormat = {
  id: 'openai',
  parseRequest: (body) => toCanonicalRequest(validateChatRequest(body)),
  buildRequest: toOpenAIRequestBody,
  upstreamCall: ({ basePath, credential }) => ({
    path: `${basePath}/chat/completions`,
    headers: credential === undefined ? [] : [['authorization', `Bearer ${credential}`]],
  }),
  parseResponse: parseChatCompletion,
  renderResponse: renderChatCompletion,
  createStreamDecoder: () => new OpenAIStreamDecoder(),
  createStreamEncoder: (ctx) => new OpenAIStreamEncoder(ctx),
  streamContentType: 'text/event-stream',
  streamFraming: 'sse',
  checkStreamEvent: checkOpenAIStreamEvent,
  renderError: renderOpenAIError,
  parseError: parseOpenAIError,
};

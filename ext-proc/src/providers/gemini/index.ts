import type { UpstreamCall, UpstreamCallInput, WireFormat } from '../canonical/format.js';
import { buildGeminiRequest } from './build.js';
import { parseGeminiError, renderGeminiError } from './errors.js';
import { parseGeminiRequest } from './request.js';
import { parseGeminiResponse, renderGeminiResponse } from './response.js';
import { checkGeminiStreamEvent, GEMINI_STREAM_CONTENT_TYPE, GeminiStreamDecoder, GeminiStreamEncoder } from './stream.js';

/** Gemini names the model and the method in the path; streaming is asked for as SSE. */
export function geminiUpstreamCall(input: UpstreamCallInput): UpstreamCall {
  const model = input.upstreamModel.split('/').map(encodeURIComponent).join('/');
  const method = input.stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  const headers: Array<[string, string]> = [];
  if (input.credential !== undefined) headers.push(['x-goog-api-key', input.credential]);
  return { path: `${input.basePath}/models/${model}:${method}`, headers };
}

export const geminiFormat: WireFormat = {
  id: 'gemini',
  parseRequest: parseGeminiRequest,
  buildRequest: (req) => buildGeminiRequest(req),
  upstreamCall: geminiUpstreamCall,
  parseResponse: parseGeminiResponse,
  renderResponse: renderGeminiResponse,
  createStreamDecoder: () => new GeminiStreamDecoder(),
  createStreamEncoder: (ctx) => new GeminiStreamEncoder(ctx),
  streamContentType: GEMINI_STREAM_CONTENT_TYPE,
  streamFraming: 'sse',
  checkStreamEvent: checkGeminiStreamEvent,
  renderError: renderGeminiError,
  parseError: parseGeminiError,
};

import { describe, expect, it } from 'vitest';
import { apiFamilyOfPath, apiFamilyOfRequest, detectEndpoint, splitPath } from './endpoints.js';

describe('detectEndpoint', () => {
  it('POST /v1/chat/completions is chat', () => {
    expect(detectEndpoint('POST', '/v1/chat/completions')).toEqual({ api: 'openai', op: 'chat' });
  });

  it('GET /v1/models is the list', () => {
    expect(detectEndpoint('GET', '/v1/models')).toEqual({ api: 'openai', op: 'models' });
  });

  it('GET /v1/models/{model} retrieves one model, with slashes and percent-encoding', () => {
    expect(detectEndpoint('GET', '/v1/models/gpt-4o-mini')).toEqual({ api: 'openai', op: 'model', model: 'gpt-4o-mini' });
    expect(detectEndpoint('GET', '/v1/models/groq/openai/gpt-oss-120b')).toEqual({ api: 'openai', op: 'model', model: 'groq/openai/gpt-oss-120b' });
    expect(detectEndpoint('GET', '/v1/models/openrouter%2Fgoogle%2Fgemini-2.5-flash')).toEqual({
      api: 'openai',
      op: 'model',
      model: 'openrouter/google/gemini-2.5-flash',
    });
  });

  it('wrong method or unknown path is undefined', () => {
    expect(detectEndpoint('GET', '/v1/chat/completions')).toBeUndefined();
    expect(detectEndpoint('POST', '/v1/models')).toBeUndefined();
    expect(detectEndpoint('DELETE', '/v1/models/gpt-4o')).toBeUndefined();
    // A trailing slash names no model.
    expect(detectEndpoint('GET', '/v1/models/')).toBeUndefined();
    expect(detectEndpoint('POST', '/v1/completions')).toBeUndefined();
    expect(detectEndpoint('POST', '/v1/chat/completions/')).toBeUndefined();
    expect(detectEndpoint('POST', '/V1/CHAT/COMPLETIONS')).toBeUndefined();
    expect(detectEndpoint('GET', '/')).toBeUndefined();
    expect(detectEndpoint('GET', '/v1/modelsx')).toBeUndefined();
  });

  // BUG: decodeURIComponent throws URIError on a malformed escape; the exchange turns that into a
  // 500 "internal error" instead of a 4xx. An unparseable path should simply not match (→ 404).
  it('a malformed percent-escape in a model path does not throw', () => {
    expect(() => detectEndpoint('GET', '/v1/models/%E0%A4%A')).not.toThrow();
    expect(() => detectEndpoint('GET', '/v1/models/100%')).not.toThrow();
  });
});

describe('splitPath', () => {
  it('a path without a query', () => {
    expect(splitPath('/v1/chat/completions')).toEqual({ path: '/v1/chat/completions', query: undefined });
  });

  it('splits at the first ?', () => {
    const { path, query } = splitPath('/v1beta/models/gemini:generateContent?key=abc&alt=sse');
    expect(path).toBe('/v1beta/models/gemini:generateContent');
    expect(query?.get('key')).toBe('abc');
    expect(query?.get('alt')).toBe('sse');
  });

  it('an empty query and a query with an encoded ?', () => {
    expect(splitPath('/v1/models?').path).toBe('/v1/models');
    expect(splitPath('/v1/models?').query?.toString()).toBe('');
    expect(splitPath('/x?key=a%3Fb?c').query?.get('key')).toBe('a?b?c');
  });
});

describe('detectEndpoint for the other APIs', () => {
  it('Anthropic messages, and its model list told apart by anthropic-version', () => {
    expect(detectEndpoint('POST', '/v1/messages')).toEqual({ api: 'anthropic', op: 'chat' });
    expect(detectEndpoint('GET', '/v1/models', true)).toEqual({ api: 'anthropic', op: 'models' });
    expect(detectEndpoint('GET', '/v1/messages')).toBeUndefined();
  });

  it('Gemini generateContent and streamGenerateContent take model and streaming from the path', () => {
    expect(detectEndpoint('POST', '/v1beta/models/gemini-2.5-flash:generateContent')).toEqual({
      api: 'gemini',
      op: 'chat',
      model: 'gemini-2.5-flash',
      stream: false,
    });
    expect(detectEndpoint('POST', '/v1beta/models/gemini-2.5-flash:streamGenerateContent')).toEqual({
      api: 'gemini',
      op: 'chat',
      model: 'gemini-2.5-flash',
      stream: true,
    });
    expect(detectEndpoint('POST', '/v1/models/gemini-2.5-pro:generateContent')).toMatchObject({ api: 'gemini', model: 'gemini-2.5-pro' });
    expect(detectEndpoint('POST', '/v1beta/models/gemini-2.5-flash:countTokens')).toBeUndefined();
    expect(detectEndpoint('POST', '/v1beta/models/%E0:generateContent')).toBeUndefined();
    expect(detectEndpoint('GET', '/v1beta/models')).toEqual({ api: 'gemini', op: 'models' });
  });

  it('Ollama chat and tags', () => {
    expect(detectEndpoint('POST', '/api/chat')).toEqual({ api: 'ollama', op: 'chat' });
    expect(detectEndpoint('GET', '/api/tags')).toEqual({ api: 'ollama', op: 'models' });
    expect(detectEndpoint('GET', '/api/chat')).toBeUndefined();
  });
});

describe('apiFamilyOfPath', () => {
  it.each([
    ['/v1/messages/', 'anthropic'],
    ['/V1/MESSAGES', 'anthropic'],
    ['//v1//messages/batches', 'anthropic'],
    ['/v1/messages?beta=true', 'anthropic'],
    ['/v1beta/models/gemini-2.5-flash:countTokens', 'gemini'],
    ['/v1beta/cachedContents', 'gemini'],
    ['/v1/models/gemini-2.5-flash:embedContent', 'gemini'],
    ['/V1BETA/models', 'gemini'],
    ['/api/generate', 'ollama'],
    ['/api/chat/', 'ollama'],
    ['//API//show', 'ollama'],
    ['/v1/chat/completions/', 'openai'],
    ['/chat/completions', 'openai'],
    ['/v1/embeddings', 'openai'],
    // %-escaped slashes and colons are read as what they stand for.
    ['/v1%2Fmessages', 'anthropic'],
    ['/v1/messages%2F', 'anthropic'],
    ['/v1beta%2Fmodels%2Fgemini-2.5-flash-lite:generateContent', 'gemini'],
    ['/v1/models/gemini-2.5-flash%3AgenerateContent', 'gemini'],
    ['/api%2Fchat', 'ollama'],
    ['/v1/chat%2Fcompletions', 'openai'],
  ])('%s belongs to the %s API', (path, api) => {
    expect(apiFamilyOfPath(path)).toBe(api);
  });

  it.each([
    '/v1/messagesX',
    '/apis/x',
    '/v1/models/gpt-4o',
    '/v1/models',
    '/v1',
    '/',
    '/v1/message',
    '/v2/models/x:generateContent',
    '/v1/messages%00',
    '/%zz',
  ])('%s says nothing', (path) => {
    expect(apiFamilyOfPath(path)).toBeUndefined();
  });
});

describe('apiFamilyOfRequest: the path, else the headers, else OpenAI', () => {
  const none = {};
  const anthropic = { 'anthropic-version': '2023-06-01', 'x-api-key': 'k' };
  it('a path that says wins over the headers', () => {
    expect(apiFamilyOfRequest('/api/chat/', anthropic, undefined)).toBe('ollama');
    expect(apiFamilyOfRequest('/v1/chat/completions/', { 'x-api-key': 'k' }, undefined)).toBe('openai');
  });
  it("a path that says nothing is told by the SDK's headers", () => {
    expect(apiFamilyOfRequest('/v1/message', anthropic, undefined)).toBe('anthropic');
    expect(apiFamilyOfRequest('/V1/MODELS', { 'x-api-key': 'k' }, undefined)).toBe('anthropic');
    expect(apiFamilyOfRequest('/v1/models', { 'anthropic-version': '2023-06-01', authorization: 'Bearer k' }, undefined)).toBe('anthropic');
    expect(apiFamilyOfRequest('/v2/models/x:generateContent', { 'x-goog-api-key': 'k' }, undefined)).toBe('gemini');
    expect(apiFamilyOfRequest('/v2/models/x:generateContent', none, new URLSearchParams('key=k'))).toBe('gemini');
  });
  it('nothing told: OpenAI', () => {
    expect(apiFamilyOfRequest('/v1/complete', { authorization: 'Bearer k' }, new URLSearchParams('x=1'))).toBe('openai');
    expect(apiFamilyOfRequest('/', none, undefined)).toBe('openai');
  });
});

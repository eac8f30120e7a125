import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError, kindForStatus, type ErrorKind } from '../../errors.js';
import { parseGeminiError, renderGeminiError } from './errors.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const parse = (s: string) => JSON.parse(s) as { error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> } };

describe('renderGeminiError', () => {
  const cases: Array<[ErrorKind, number, string]> = [
    ['invalid_request', 400, 'INVALID_ARGUMENT'],
    ['authentication', 401, 'UNAUTHENTICATED'],
    ['permission', 403, 'PERMISSION_DENIED'],
    ['not_found', 404, 'NOT_FOUND'],
    ['too_large', 413, 'INVALID_ARGUMENT'],
    ['rate_limit', 429, 'RESOURCE_EXHAUSTED'],
    ['internal', 500, 'INTERNAL'],
    ['upstream', 502, 'UNAVAILABLE'],
    ['unavailable', 503, 'UNAVAILABLE'],
    ['timeout', 504, 'DEADLINE_EXCEEDED'],
  ];

  it.each(cases)('%s → code %i, status %s', (kind, code, status) => {
    const text = renderGeminiError(new GatewayError(kind, `about ${kind}`));
    expect(text).toBe(JSON.stringify({ error: { code, message: `about ${kind}`, status } }));
  });

  it('names the bad field in a BadRequest detail', () => {
    const body = parse(renderGeminiError(new GatewayError('invalid_request', 'bad temperature', { param: 'generationConfig.temperature' })));
    expect(body.error.details).toEqual([
      { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'generationConfig.temperature', description: 'bad temperature' }] },
    ]);
  });

  it('tells when to retry in a RetryInfo detail', () => {
    const body = parse(renderGeminiError(new GatewayError('rate_limit', 'slow down', { retryAfterSeconds: 12 })));
    expect(body.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect(body.error.details).toEqual([{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' }]);
  });

  it('the gateway answers its own bad keys with 401 UNAUTHENTICATED, not Gemini’s 400', () => {
    expect(parse(renderGeminiError(new GatewayError('authentication', 'Invalid API key.'))).error).toEqual({
      code: 401,
      message: 'Invalid API key.',
      status: 'UNAUTHENTICATED',
    });
  });
});

describe('parseGeminiError', () => {
  it('API_KEY_INVALID is told apart from other INVALID_ARGUMENTs by its ErrorInfo reason', () => {
    expect(parseGeminiError(fixture('error-400-api-key.json'))).toEqual({
      message: 'API key not valid. Please pass a valid API key.',
      type: 'API_KEY_INVALID',
      status: 400,
    });
  });

  it('without an ErrorInfo the status name is the type', () => {
    expect(parseGeminiError(fixture('error-429.json'))).toMatchObject({ type: 'RESOURCE_EXHAUSTED' });
    expect(parseGeminiError(fixture('error-429.json'))!.message).toContain('exceeded your current quota');
    expect(parseGeminiError(fixture('error-503.json'))).toEqual({
      message: 'The model is overloaded. Please try again later.',
      type: 'UNAVAILABLE',
      status: 503,
    });
  });

  it('reads the JSON-array form of the non-SSE streaming endpoint', () => {
    expect(parseGeminiError(`[${fixture('error-503.json')}]`)).toMatchObject({ type: 'UNAVAILABLE' });
  });

  it.each(['upstream connect error or disconnect/reset before headers', '{"message":"x"}', '{"error":"flat string"}', '[]', ''])(
    'not a Google error: %j',
    (body) => {
      expect(parseGeminiError(body)).toBeUndefined();
    },
  );

  it('round trip: what the gateway renders it reads back, and the status maps to the same kind', () => {
    for (const kind of ['invalid_request', 'rate_limit', 'unavailable', 'timeout', 'not_found'] as const) {
      const err = new GatewayError(kind, `m-${kind}`);
      const text = renderGeminiError(err);
      expect(parseGeminiError(text)).toMatchObject({ message: `m-${kind}` });
      expect(kindForStatus(parse(text).error.code)).toBe(kind);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { GatewayError, kindForStatus, type ErrorKind } from '../../errors.js';
import { parseOpenAIErrorMessage, renderOpenAIError } from './errors.js';

const parse = (s: string) => JSON.parse(s) as { error: { message: string; type: string; param: string | null; code: string | null } };

describe('renderOpenAIError', () => {
  const cases: Array<[ErrorKind, number, string]> = [
    ['invalid_request', 400, 'invalid_request_error'],
    ['authentication', 401, 'invalid_request_error'],
    ['permission', 403, 'permission_error'],
    ['not_found', 404, 'invalid_request_error'],
    ['too_large', 413, 'invalid_request_error'],
    ['rate_limit', 429, 'rate_limit_exceeded'],
    ['internal', 500, 'server_error'],
    ['upstream', 502, 'server_error'],
    ['unavailable', 503, 'server_error'],
    ['timeout', 504, 'server_error'],
  ];

  it.each(cases)('%s → HTTP %i, error.type %s', (kind, status, type) => {
    const err = new GatewayError(kind, `something about ${kind}`);
    expect(err.status).toBe(status);
    const body = parse(renderOpenAIError(err));
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toEqual({ message: `something about ${kind}`, type, param: null, code: null });
  });

  it('carries param and code when given', () => {
    const err = new GatewayError('not_found', 'The model `x` does not exist.', { param: 'model', code: 'model_not_found' });
    expect(parse(renderOpenAIError(err))).toEqual({
      error: { message: 'The model `x` does not exist.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' },
    });
  });

  it('always has the four keys, in OpenAI order, with explicit nulls', () => {
    const text = renderOpenAIError(new GatewayError('internal', 'boom'));
    expect(text).toBe('{"error":{"message":"boom","type":"server_error","param":null,"code":null}}');
  });

  it('escapes messages safely as JSON', () => {
    const msg = 'bad "quote" \\ and\nnewline </script>';
    expect(parse(renderOpenAIError(new GatewayError('invalid_request', msg))).error.message).toBe(msg);
  });
});

describe('parseOpenAIErrorMessage', () => {
  it('reads error.message from an OpenAI-shaped body', () => {
    expect(parseOpenAIErrorMessage('{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}')).toBe(
      'Rate limit reached',
    );
  });

  it('is undefined for plain text, non-error JSON, or a non-string message', () => {
    expect(parseOpenAIErrorMessage('upstream connect error or disconnect/reset before headers. reset reason: connection failure')).toBeUndefined();
    expect(parseOpenAIErrorMessage('')).toBeUndefined();
    expect(parseOpenAIErrorMessage('null')).toBeUndefined();
    expect(parseOpenAIErrorMessage('{"detail":"Not found"}')).toBeUndefined();
    expect(parseOpenAIErrorMessage('{"error":"quota"}')).toBeUndefined();
    expect(parseOpenAIErrorMessage('{"error":{"message":42}}')).toBeUndefined();
  });
});

describe('kindForStatus', () => {
  it.each([
    [400, 'invalid_request'],
    [422, 'invalid_request'],
    [401, 'authentication'],
    [403, 'permission'],
    [404, 'not_found'],
    [408, 'request_timeout'],
    [413, 'too_large'],
    [429, 'rate_limit'],
    [500, 'internal'],
    [502, 'upstream'],
    [503, 'unavailable'],
    [529, 'unavailable'],
    [504, 'timeout'],
    [599, 'internal'],
    [418, 'invalid_request'],
  ] as const)('%i → %s', (status, kind) => {
    expect(kindForStatus(status)).toBe(kind);
  });
});

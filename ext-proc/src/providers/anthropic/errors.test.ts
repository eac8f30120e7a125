import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError, type ErrorKind } from '../../errors.js';
import { parseAnthropicError, renderAnthropicError, statusForAnthropicErrorType } from './errors.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('renderAnthropicError', () => {
  it.each([
    ['invalid_request', 400, 'invalid_request_error'],
    ['authentication', 401, 'authentication_error'],
    ['permission', 403, 'permission_error'],
    ['not_found', 404, 'not_found_error'],
    ['too_large', 413, 'request_too_large'],
    ['rate_limit', 429, 'rate_limit_error'],
    ['internal', 500, 'api_error'],
    ['upstream', 502, 'api_error'],
    ['unavailable', 503, 'overloaded_error'],
    ['timeout', 504, 'api_error'],
  ] as const)('%s (%d) renders as %s', (kind: ErrorKind, status, type) => {
    const err = new GatewayError(kind, 'Something specific.', { param: 'x' });
    expect(err.status).toBe(status);
    expect(JSON.parse(renderAnthropicError(err))).toEqual({ type: 'error', error: { type, message: 'Something specific.' } });
  });
});

describe('parseAnthropicError', () => {
  it('reads the documented error shapes', () => {
    expect(parseAnthropicError(fixture('error-529.json'))).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
    expect(parseAnthropicError(fixture('error-404.json'))).toEqual({ type: 'not_found_error', message: 'The requested resource could not be found.' });
  });

  it('reads an error object without the top-level type, and a message without a type', () => {
    expect(parseAnthropicError('{"error":{"type":"api_error","message":"Internal server error"}}')).toEqual({
      type: 'api_error',
      message: 'Internal server error',
    });
    expect(parseAnthropicError('{"error":{"message":"only text"}}')).toEqual({ message: 'only text' });
  });

  it.each([
    'upstream connect error or disconnect/reset before headers',
    '',
    '[]',
    'null',
    '{"error":"flat string"}',
    '{"error":{}}',
    '{"message":"no error object"}',
  ])('is undefined for %j', (body) => {
    expect(parseAnthropicError(body)).toBeUndefined();
  });
});

describe('statusForAnthropicErrorType', () => {
  it('maps documented types to their statuses and unknown ones to 500', () => {
    expect(statusForAnthropicErrorType('overloaded_error')).toBe(529);
    expect(statusForAnthropicErrorType('rate_limit_error')).toBe(429);
    expect(statusForAnthropicErrorType('invalid_request_error')).toBe(400);
    expect(statusForAnthropicErrorType('api_error')).toBe(500);
    expect(statusForAnthropicErrorType('brand_new_error')).toBe(500);
    expect(statusForAnthropicErrorType(undefined)).toBe(500);
    expect(statusForAnthropicErrorType('constructor')).toBe(500);
  });
});

import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { bearerToken, headerValue, rejectsCredential, targetPath } from './headers.js';

const req = (headers: http.IncomingHttpHeaders): http.IncomingMessage => ({ headers }) as http.IncomingMessage;

describe('headerValue', () => {
  it('reads a header, the first value of a repeated one, nothing for a missing one', () => {
    expect(headerValue(req({ 'x-a': '1' }), 'x-a')).toBe('1');
    expect(headerValue(req({ 'set-cookie': ['a', 'b'] }), 'set-cookie')).toBe('a');
    expect(headerValue(req({}), 'x-a')).toBeUndefined();
  });
});

describe('bearerToken', () => {
  it('reads the token of a bearer authorization, in any case of the scheme, trimmed', () => {
    expect(bearerToken(req({ authorization: 'Bearer sk-1' }))).toBe('sk-1');
    expect(bearerToken(req({ authorization: '  bearer   sk-2  ' }))).toBe('sk-2');
  });

  it('is empty without a bearer token', () => {
    expect(bearerToken(req({}))).toBe('');
    expect(bearerToken(req({ authorization: 'Bearer' }))).toBe('');
    expect(bearerToken(req({ authorization: 'Bearer    ' }))).toBe('');
    expect(bearerToken(req({ authorization: 'Basic abc' }))).toBe('');
  });
});

describe('targetPath', () => {
  it('drops the query string', () => {
    expect(targetPath('/v1/models?limit=2')).toBe('/v1/models');
    expect(targetPath('/v1/models')).toBe('/v1/models');
    expect(targetPath('/?')).toBe('/');
  });
});

describe('rejectsCredential', () => {
  it('is on only when x-sim-reject-key is sent with a value other than 0 or false', () => {
    expect(rejectsCredential(req({ 'x-sim-reject-key': '1' }))).toBe(true);
    expect(rejectsCredential(req({ 'x-sim-reject-key': 'yes' }))).toBe(true);
    expect(rejectsCredential(req({}))).toBe(false);
    expect(rejectsCredential(req({ 'x-sim-reject-key': '' }))).toBe(false);
    expect(rejectsCredential(req({ 'x-sim-reject-key': '0' }))).toBe(false);
    expect(rejectsCredential(req({ 'x-sim-reject-key': 'FALSE' }))).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { headerMapToRecord, setHeader } from './headers.js';

describe('headerMapToRecord', () => {
  it('reads raw_value bytes (newer Envoy) and value strings (older Envoy)', () => {
    expect(
      headerMapToRecord({
        headers: [
          { key: ':path', raw_value: Buffer.from('/v1/chat/completions'), value: '' },
          { key: 'x-old', value: 'legacy', raw_value: Buffer.alloc(0) },
        ],
      }),
    ).toEqual({ ':path': '/v1/chat/completions', 'x-old': 'legacy' });
  });

  it('joins repeated headers with commas and skips entries without a key', () => {
    expect(
      headerMapToRecord({
        headers: [
          { key: 'accept', raw_value: Buffer.from('a'), value: '' },
          { key: 'accept', raw_value: Buffer.from('b'), value: '' },
          { key: '', raw_value: Buffer.from('ignored'), value: '' },
        ],
      }),
    ).toEqual({ accept: 'a,b' });
  });

  it('decodes UTF-8 values and tolerates an absent map', () => {
    expect(headerMapToRecord({ headers: [{ key: 'x-name', raw_value: Buffer.from('Zoë 中'), value: '' }] })).toEqual({ 'x-name': 'Zoë 中' });
    expect(headerMapToRecord(undefined)).toEqual({});
  });
});

describe('setHeader', () => {
  it('sets raw_value bytes and overwrites any existing value', () => {
    const h = setHeader('x-gateway-cluster', 'openai');
    expect(h.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    expect(h.header?.key).toBe('x-gateway-cluster');
    expect(Buffer.from(h.header!.raw_value as Buffer).toString()).toBe('openai');
  });
});

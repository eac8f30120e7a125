import { describe, expect, it } from 'vitest';
import { resolveOptions } from './options.js';

describe('resolveOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveOptions({})).toEqual({
      host: '127.0.0.1',
      port: 0,
      apiKey: undefined,
      latencyMs: 0,
      tokensPerSecond: 0,
      failures: { every: 0, status: 500 },
    });
  });

  it('treats an empty key as none and negative times and paces as zero', () => {
    const s = resolveOptions({ apiKey: '', latencyMs: -5, tokensPerSecond: -1 });
    expect(s.apiKey).toBeUndefined();
    expect(s.latencyMs).toBe(0);
    expect(s.tokensPerSecond).toBe(0);
  });

  it('keeps what is given', () => {
    expect(resolveOptions({ host: '::1', port: 8080, apiKey: 'k', latencyMs: 20, tokensPerSecond: 50, failEvery: 4, failStatus: 503 })).toEqual({
      host: '::1',
      port: 8080,
      apiKey: 'k',
      latencyMs: 20,
      tokensPerSecond: 50,
      failures: { every: 4, status: 503 },
    });
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../config/env.js';
import { poolsFromEnv } from './env.js';

describe('poolsFromEnv', () => {
  it('makes an ollama pool from OLLAMA_URLS and a vllm pool from VLLM_URLS', () => {
    const pools = poolsFromEnv({
      OLLAMA_URLS: 'http://127.0.0.1:11434, http://10.0.0.5:11434',
      VLLM_URLS: 'http://localhost:8001,http://[::1]:8002,,http://10.1.2.3',
    });
    expect(pools.map((p) => [p.name, p.kind, p.endpoints])).toEqual([
      ['ollama', 'ollama', ['127.0.0.1:11434', '10.0.0.5:11434']],
      ['vllm', 'vllm', ['127.0.0.1:8001', '[::1]:8002', '10.1.2.3:80']],
    ]);
  });

  it('makes no pool for an unset or empty variable', () => {
    expect(poolsFromEnv({})).toEqual([]);
    expect(poolsFromEnv({ VLLM_URLS: ' , ' })).toEqual([]);
  });

  it('rejects host names with a message naming the variable and the fix', () => {
    const attempt = () => poolsFromEnv({ VLLM_URLS: 'http://10.0.0.1:8000,http://gpu-2.internal:8000' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/VLLM_URLS: 'http:\/\/gpu-2.internal:8000': host 'gpu-2.internal' is not an IP address/);
  });

  it('rejects non-URLs and duplicates', () => {
    expect(() => poolsFromEnv({ OLLAMA_URLS: '127.0.0.1:11434' })).toThrow(/OLLAMA_URLS: .*only http and https|OLLAMA_URLS: .*not a URL/);
    expect(() => poolsFromEnv({ OLLAMA_URLS: 'http://localhost:11434,http://127.0.0.1:11434' })).toThrow(/OLLAMA_URLS: .*second time/);
  });

  it('passes tuning options to every pool', () => {
    const now = () => 42;
    const [p] = poolsFromEnv({ OLLAMA_URLS: 'http://127.0.0.1:11434' }, { slotsPerEndpoint: 2, now, name: 'ignored' });
    p!.begin('127.0.0.1:11434')({ status: 503 });
    expect(p!.name).toBe('ollama');
    expect(p!.snapshot()[0]!.fullUntil).toBe(42 + 2000);
  });
});

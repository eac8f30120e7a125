/*
 * End to end: the numbers a caller sends that feed admission. A stray top-level `n` on APIs that
 * have no such field (Anthropic, Ollama) must neither shrink a reservation under a tenant's
 * tokens-per-minute limit nor break the call, and a huge max_tokens is refused by the limit in
 * the caller's API, never with a 5xx.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

const KEY = 'gw-key-admission-numbers';
const TPM = 3000;
const ROOMY_KEY = 'gw-key-admission-roomy';
const ROOMY_TPM = 100_000;
let stack: LocalStack;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-admission-'));
  const tenantsPath = path.join(dir, 'tenants.yaml');
  writeFileSync(tenantsPath, ['tenants:', `  numbers: { limits: { tpm: ${TPM} } }`, `  roomy: { limits: { tpm: ${ROOMY_TPM} } }`, ''].join('\n'));
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: `numbers:${KEY},roomy:${ROOMY_KEY}`, TENANTS_PATH: tenantsPath, CACHE_TTL_SECONDS: '0' },
    log: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await stack?.close(500);
});

const post = (p: string, body: unknown, key = KEY) =>
  fetch(`${stack.gatewayUrl}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });

const anthropic = (maxTokens: number, extra: Record<string, unknown> = {}, key = KEY) =>
  post('/v1/messages', { model: 'claude-haiku-4-5', max_tokens: maxTokens, messages: [{ role: 'user', content: 'admission probe' }], ...extra }, key);

const ollama = (numPredict: number, extra: Record<string, unknown> = {}) =>
  post('/api/chat', {
    model: 'llama3.2',
    stream: false,
    options: { num_predict: numPredict },
    messages: [{ role: 'user', content: 'admission probe' }],
    ...extra,
  });

describe('numbers that feed admission', () => {
  it('a tiny stray n does not let a call over the tpm limit through (Anthropic, Ollama)', async () => {
    const a = await anthropic(TPM + 1000, { n: 1e-9 });
    expect(a.status).toBe(429);
    expect(await a.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    const o = await ollama(TPM + 1000, { n: 1e-9 });
    expect(o.status).toBe(429);
    expect(typeof ((await o.json()) as { error?: unknown }).error).toBe('string');
  });

  it.each([0, -1e6, 1e300, 1e-9])('a stray n of %s leaves a call within the limit answered', async (n) => {
    const a = await anthropic(20, { n });
    expect(a.status).toBe(200);
    expect(await a.json()).toMatchObject({ type: 'message', role: 'assistant' });
    const o = await ollama(20, { n });
    expect(o.status).toBe(200);
    expect(await o.json()).toMatchObject({ done: true });
  });

  it('a max_tokens of 1e300 is a 400 in the caller API (beyond any integer a model takes), never a 5xx', async () => {
    const a = await anthropic(1e300);
    expect(a.status).toBe(400);
    expect(await a.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') } });
    const o = await ollama(1e300);
    expect(o.status).toBe(400);
    expect(((await o.json()) as { error: string }).error).toContain('num_predict');
  });

  it('a max_tokens far beyond the model maximum reserves only what the model can produce', async () => {
    // claude-haiku-4-5 produces at most 64,000 tokens: within the roomy tenant's limit, while
    // 2^40 tokens would not be.
    const a = await anthropic(2 ** 40, {}, ROOMY_KEY);
    expect(a.status).toBe(200);
    expect(Number(a.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThan(ROOMY_TPM - 64_000 - 1000);
  });
});

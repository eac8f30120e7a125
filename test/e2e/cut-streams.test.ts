/*
 * End to end: a streaming call the client cuts off halfway, on each of the five streaming paths
 * (OpenAI chat, Anthropic messages, Gemini v1beta and v1 streamGenerateContent, Ollama chat), is
 * still metered: tokens and cost of what was delivered (the prompt, and the answer so far), and
 * the tenant's limit charged for it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../ext-proc/src/catalog/load.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { worstCase } from '../../ext-proc/src/limits/admission.js';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { metricValue } from '../helpers/prom.js';

const catalog = loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml'));
const TPM = 1_000_000;
let stack: LocalStack;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-cut-'));
  const tenants = ['cut-openai', 'cut-anthropic', 'cut-gemini', 'cut-gemini-v1', 'cut-ollama'];
  writeFileSync(path.join(dir, 'tenants.yaml'), `tenants:\n${tenants.map((t) => `  ${t}: { limits: { tpm: ${TPM} } }`).join('\n')}\n`);
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: tenants.map((t) => `${t}:gw-key-${t}-0001`).join(','), CACHE_TTL_SECONDS: '0', TENANTS_PATH: path.join(dir, 'tenants.yaml') },
    log: pino({ level: 'silent' }),
    // 40 words a second: a 400-word answer streams for ten seconds.
    simulator: { tokensPerSecond: 40 },
    ownSimulators: { anthropic: { tokensPerSecond: 40 }, gemini: { tokensPerSecond: 40 }, ollama: { tokensPerSecond: 40 } },
  });
});

afterAll(async () => {
  await stack?.close(500);
});

const prompt = 'Tell me a long story [sim:tokens=400]';
const CASES = [
  {
    tenant: 'cut-openai',
    model: 'gpt-4o-mini',
    path: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: prompt }] },
    auth: 'authorization',
  },
  {
    tenant: 'cut-anthropic',
    model: 'claude-haiku-4-5',
    path: '/v1/messages',
    body: { model: 'claude-haiku-4-5', max_tokens: 2000, stream: true, messages: [{ role: 'user', content: prompt }] },
    auth: 'x-api-key',
  },
  {
    tenant: 'cut-gemini',
    model: 'gemini-2.5-flash-lite',
    path: '/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent?alt=sse',
    body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
    auth: 'x-goog-api-key',
  },
  {
    tenant: 'cut-gemini-v1',
    model: 'gemini-2.5-flash-lite',
    path: '/v1/models/gemini-2.5-flash-lite:streamGenerateContent?alt=sse',
    body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
    auth: 'x-goog-api-key',
  },
  {
    tenant: 'cut-ollama',
    model: 'llama3.2',
    path: '/api/chat',
    body: { model: 'llama3.2', stream: true, messages: [{ role: 'user', content: prompt }] },
    auth: 'authorization',
  },
] as const;

function headersFor(c: (typeof CASES)[number]): Record<string, string> {
  const key = `gw-key-${c.tenant}-0001`;
  return {
    'content-type': 'application/json',
    [c.auth]: c.auth === 'authorization' ? `Bearer ${key}` : key,
    ...(c.auth === 'x-api-key' ? { 'anthropic-version': '2023-06-01' } : {}),
  };
}

describe.each(CASES)('a stream cut off by its client ($path)', (c) => {
  it('is metered for what was delivered, and charged against the limit', async () => {
    const abort = new AbortController();
    const res = await fetch(`${stack.gatewayUrl}${c.path}`, { method: 'POST', headers: headersFor(c), body: JSON.stringify(c.body), signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let got = 0;
    // Well into the answer: several pieces of text after the opening events.
    while (got < 2500) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before it was cut');
      got += value.length;
    }
    abort.abort();

    // The processor sees the cut and meters it (Envoy's access log closes with the stream: the
    // record is the processor's metrics and the limiter's counters).
    let text = '';
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      text = await (await fetch(stack.metricsUrl)).text();
      if (metricValue(text, 'llm_gateway_streams_aborted_total', { tenant: c.tenant }) === 1) break;
    }
    const tokens = (type: string) => metricValue(text, 'gen_ai_client_token_usage_sum', { tenant: c.tenant, gen_ai_token_type: type });
    expect(tokens('input')).toBeGreaterThan(0);
    expect(tokens('output')).toBeGreaterThan(0);
    expect(tokens('output')).toBeLessThan(400);
    expect(metricValue(text, 'llm_gateway_streams_aborted_total', { tenant: c.tenant })).toBe(1);
    // Local models are free; the others cost what was delivered.
    const free = catalog.find(c.model)!.pricing.outputPerMTok === 0;
    if (!free) expect(metricValue(text, 'llm_gateway_cost_usd_total', { tenant: c.tenant })).toBeGreaterThan(0);

    // The cut call's tokens stay charged: the next call sees them gone from the minute's quota.
    const nextBody = JSON.stringify({ ...c.body, stream: c.path.includes('streamGenerateContent') ? undefined : false }).replace(
      /\[sim:tokens=400\]/,
      '[sim:tokens=2]',
    );
    const next = await fetch(`${stack.gatewayUrl}${c.path.replace('streamGenerateContent?alt=sse', 'generateContent')}`, {
      method: 'POST',
      headers: headersFor(c),
      body: nextBody,
    });
    expect(next.status).toBe(200);
    await next.arrayBuffer();
    const remaining = Number(next.headers.get('x-ratelimit-remaining-tokens'));
    const maxTokens = 'max_tokens' in c.body ? c.body.max_tokens : undefined;
    const reserve = worstCase(Buffer.byteLength(nextBody), { max_tokens: maxTokens }, catalog.find(c.model)!).tokens;
    expect(remaining).toBeLessThan(TPM - reserve);
  }, 20_000);
});

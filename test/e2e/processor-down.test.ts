/*
 * End to end: the processor goes away. Envoy answers LLM calls with a 503 in the caller's own API
 * (not an empty 500) while it is gone, /healthz says so, and under `npm start`'s supervision a
 * processor killed with SIGKILL is back within seconds.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

const KEY = 'gw-key-processor-down';
const stacks: LocalStack[] = [];

afterAll(async () => {
  for (const s of stacks) await s.close(500);
});

const ask = (url: string) =>
  new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 }).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'are you there?' }],
  });

describe('processor down', () => {
  it("answers 503 in the caller's API, and /healthz fails, while no processor is there", async () => {
    const stack = await startLocalStack({ env: { GATEWAY_KEYS: `down:${KEY}`, CACHE_TTL_SECONDS: '0' }, log: pino({ level: 'silent' }) });
    stacks.push(stack);
    expect((await fetch(`${stack.gatewayUrl}/healthz`)).status).toBe(200);
    await ask(stack.gatewayUrl);
    await stack.gateway!.close(100);

    const openaiErr = await ask(stack.gatewayUrl).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(openaiErr).toBeInstanceOf(OpenAI.APIError);
    expect((openaiErr as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((openaiErr as InstanceType<typeof OpenAI.APIError>).code).toBe('gateway_unavailable');
    expect((openaiErr as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('1');

    const claude = new Anthropic({ apiKey: KEY, baseURL: stack.gatewayUrl, maxRetries: 0 });
    const anthropicErr = await claude.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(anthropicErr).toBeInstanceOf(Anthropic.APIError);
    expect((anthropicErr as InstanceType<typeof Anthropic.APIError>).status).toBe(503);
    expect(JSON.stringify((anthropicErr as InstanceType<typeof Anthropic.APIError>).error)).toContain('"type":"error"');

    // Envoy's health checks notice within two intervals.
    const deadline = Date.now() + 20_000;
    let health = 200;
    while (health === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      health = (await fetch(`${stack.gatewayUrl}/healthz`)).status;
    }
    expect(health).toBe(503);
  }, 30_000);

  it("a processor killed under npm start's supervision is started again and serves", async () => {
    const stack = await startLocalStack({
      env: { GATEWAY_KEYS: `down:${KEY}`, CACHE_TTL_SECONDS: '0' },
      log: pino({ level: 'silent' }),
      processorProcess: { workers: 1 },
    });
    stacks.push(stack);
    await ask(stack.gatewayUrl);
    const pid = stack.processor!.pid()!;
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    let ok = false;
    while (!ok && Date.now() - killedAt < 15_000) {
      await new Promise((r) => setTimeout(r, 100));
      ok = await ask(stack.gatewayUrl).then(
        () => true,
        (e: unknown) => {
          // Meanwhile: the caller's own error format, never an empty 500.
          expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
          return false;
        },
      );
    }
    expect(ok).toBe(true);
    expect(stack.processor!.pid()).not.toBe(pid);
  }, 30_000);
});

/*
 * End to end: the prompt-injection guard, through the real Envoy with each API's official SDK.
 * GUARD_MODE is left at its default (`monitor`); tenants set `guard: block` and `guard: off`.
 * Monitor passes a flagged call and marks it; block answers 403 `prompt_injection` in the
 * caller's API and no provider hears of the call; benign prompts and hard negatives pass as
 * `clean`; an instruction hidden in a tool result is flagged; `off` adds no header; cache hits carry
 * the headers too; the metric counts every check.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/lib/local-stack.js';
import { GUARD_EXAMPLES } from '../helpers/guard-examples.js';
import { metricValue } from '../helpers/prom.js';
import { BACKENDS, CALL, CALLERS, type Caller } from '../helpers/sdk-calls.js';

const KEY = {
  watcher: 'gw-key-guard-watcher-000001', // GUARD_MODE default: monitor
  blocker: 'gw-key-guard-blocker-000001', // guard: block
  ignorer: 'gw-key-guard-ignorer-000001', // guard: off
} as const;
type Tenant = keyof typeof KEY;

let stack: LocalStack;
const logLines: string[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-guard-'));
  const tenantsPath = path.join(dir, 'tenants.yaml');
  writeFileSync(
    tenantsPath,
    ['tenants:', '  watcher: { cache: { enabled: false } }', '  blocker: { guard: block }', '  ignorer: { guard: off, cache: { enabled: false } }', ''].join(
      '\n',
    ),
  );
  stack = await startLocalStack({
    env: {
      GATEWAY_KEYS: Object.entries(KEY)
        .map(([t, k]) => `${t}:${k}`)
        .join(','),
      TENANTS_PATH: tenantsPath,
    },
    log: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
  });
});

afterAll(async () => {
  await stack?.close(500);
});

const gateway = (tenant: Tenant) => ({ url: stack.gatewayUrl, key: KEY[tenant] });
const modelOf = (api: Caller) => BACKENDS.find((b) => b.api === api)!.model;

/** Requests every simulator has received so far. */
function providerRequests(): number {
  const sims = new Set([...Object.values(stack.simulators), ...Object.values(stack.poolSimulators).flat()]);
  let n = 0;
  for (const s of sims) n += s.requests.length;
  return n;
}

function expectGuard(headers: Headers | undefined, verdict: 'clean' | 'flagged'): number {
  expect(headers?.get('x-gateway-guard')).toBe(verdict);
  const score = headers?.get('x-gateway-guard-score') ?? '';
  expect(score).toMatch(/^[01]\.\d\d$/);
  const s = Number(score);
  if (verdict === 'flagged') expect(s).toBeGreaterThanOrEqual(0.5);
  else expect(s).toBeLessThan(0.5);
  return s;
}

/** An OpenAI-format conversation in which a search tool's result carries `result`. */
function withToolResult(result: string) {
  return {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system' as const, content: 'You are a shopping assistant.' },
      { role: 'user' as const, content: 'Find me a review of the Trail Runner 3.' },
      {
        role: 'assistant' as const,
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function' as const, function: { name: 'search', arguments: '{"q":"Trail Runner 3 review"}' } }],
      },
      { role: 'tool' as const, tool_call_id: 'call_1', content: result },
    ],
    tools: [{ type: 'function' as const, function: { name: 'search', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
  };
}

describe('monitor (the default)', () => {
  it('a flagged call still reaches the provider, marked flagged, in every caller API', async () => {
    for (const api of CALLERS) {
      const before = providerRequests();
      const seen = await CALL[api](gateway('watcher'), modelOf(api), GUARD_EXAMPLES.attack, false, false);
      expect(seen.text, api).toBeTruthy();
      expectGuard(seen.headers, 'flagged');
      expect(providerRequests(), api).toBe(before + 1);
    }
  });

  it('a benign prompt and hard negatives are clean, streamed too', async () => {
    for (const prompt of [GUARD_EXAMPLES.benign, ...GUARD_EXAMPLES.hardNegatives]) {
      expectGuard((await CALL.openai(gateway('watcher'), 'gpt-4o-mini', prompt, false, false)).headers, 'clean');
      expectGuard((await CALL.anthropic(gateway('watcher'), 'claude-haiku-4-5', prompt, true, false)).headers, 'clean');
    }
  });

  it('an instruction hidden in a tool result is flagged (and a clean result is not)', async () => {
    const client = new OpenAI({ apiKey: KEY.watcher, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    const flagged = await client.chat.completions.create(withToolResult(GUARD_EXAMPLES.injectedToolResult)).withResponse();
    expectGuard(flagged.response.headers, 'flagged');
    const clean = await client.chat.completions.create(withToolResult(GUARD_EXAMPLES.cleanToolResult)).withResponse();
    expectGuard(clean.response.headers, 'clean');
  });

  it('the processor logs the flag with where and how much, never the prompt', () => {
    const flags = logLines.filter((l) => l.includes('prompt-injection guard flagged the call'));
    expect(flags.length).toBeGreaterThanOrEqual(5);
    expect(flags.some((l) => l.includes('tool_result') && l.includes('"channel":"data"'))).toBe(true);
    for (const l of flags) {
      expect(l).not.toContain('developer mode');
      expect(l).not.toContain('evil.example');
    }
  });
});

describe('block', () => {
  it('a flagged call gets 403 prompt_injection in the caller’s API, and no provider is called', async () => {
    const before = providerRequests();
    const openai = new OpenAI({ apiKey: KEY.blocker, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    const e1 = await openai.chat.completions
      .create({ model: modelOf('openai'), messages: [{ role: 'user', content: GUARD_EXAMPLES.attack }] })
      .catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const oe = e1 as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(oe.status).toBe(403);
    expect(oe.code).toBe('prompt_injection');
    expectGuard(oe.headers, 'flagged');

    const anthropic = new Anthropic({ apiKey: KEY.blocker, baseURL: stack.gatewayUrl, maxRetries: 0 });
    const e2 = await anthropic.messages
      .create({ model: modelOf('anthropic'), max_tokens: 64, messages: [{ role: 'user', content: GUARD_EXAMPLES.attackEs }] })
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const ae = e2 as InstanceType<typeof Anthropic.PermissionDeniedError>;
    expect(ae.status).toBe(403);
    expect((ae.error as { error?: { type?: string } }).error?.type).toBe('permission_error');
    expect(ae.message).toContain('prompt_injection');
    expectGuard(ae.headers, 'flagged');

    const gemini = new GoogleGenAI({ apiKey: KEY.blocker, httpOptions: { baseUrl: stack.gatewayUrl } });
    const e3 = await gemini.models.generateContent({ model: modelOf('gemini'), contents: GUARD_EXAMPLES.attack }).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(ApiError);
    expect((e3 as ApiError).status).toBe(403);
    expect((e3 as ApiError).message).toContain('PERMISSION_DENIED');
    expect((e3 as ApiError).message).toContain('prompt_injection');

    const ollama = new Ollama({ host: stack.gatewayUrl, headers: { authorization: `Bearer ${KEY.blocker}` } });
    const e4 = await ollama
      .chat({ model: modelOf('ollama'), messages: [{ role: 'user', content: GUARD_EXAMPLES.attack }], stream: false })
      .catch((e: unknown) => e);
    expect((e4 as { status_code?: number }).status_code).toBe(403);
    expect((e4 as Error).message).toContain('prompt_injection');

    // Streaming callers are refused the same way, before any stream starts.
    const e5 = await openai.chat.completions
      .create({ model: modelOf('openai'), stream: true, messages: [{ role: 'user', content: GUARD_EXAMPLES.attack }] })
      .catch((e: unknown) => e);
    expect(e5).toBeInstanceOf(OpenAI.PermissionDeniedError);

    expect(providerRequests()).toBe(before);
  });

  it('an indirect injection in a tool result is refused as well', async () => {
    const before = providerRequests();
    const openai = new OpenAI({ apiKey: KEY.blocker, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    const err = await openai.chat.completions.create(withToolResult(GUARD_EXAMPLES.injectedToolResult)).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('prompt_injection');
    expect(providerRequests()).toBe(before);
  });

  it('benign prompts and hard negatives pass as clean, in every caller API; a cache hit carries the headers too', async () => {
    for (const api of CALLERS) {
      for (const prompt of [GUARD_EXAMPLES.benign, ...GUARD_EXAMPLES.hardNegatives]) {
        const seen = await CALL[api](gateway('blocker'), modelOf(api), prompt, false, false);
        expect(seen.text, `${api}: ${prompt}`).toBeTruthy();
        expectGuard(seen.headers, 'clean');
      }
    }
    const client = new OpenAI({ apiKey: KEY.blocker, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: `${GUARD_EXAMPLES.benign} (${Date.now()})` }] };
    const first = await client.chat.completions.create(params).withResponse();
    expect(first.response.headers.get('x-gateway-cache')).toBe('miss');
    const before = providerRequests();
    const hit = await client.chat.completions.create(params).withResponse();
    expect(hit.response.headers.get('x-gateway-cache')).toBe('hit');
    expect(providerRequests()).toBe(before);
    expectGuard(hit.response.headers, 'clean');
  });
});

describe('off', () => {
  it('no guard header, and the call goes through', async () => {
    const before = providerRequests();
    for (const api of CALLERS) {
      const seen = await CALL[api](gateway('ignorer'), modelOf(api), GUARD_EXAMPLES.attack, false, false);
      expect(seen.headers?.get('x-gateway-guard'), api).toBeNull();
      expect(seen.headers?.get('x-gateway-guard-score'), api).toBeNull();
      expect(seen.headers?.get('x-gateway-request-id'), api).toBeTruthy();
    }
    expect(providerRequests()).toBe(before + CALLERS.length);
  });
});

describe('metric', () => {
  it('llm_gateway_guard_total counts checks by tenant, verdict, channel and action; none for off', async () => {
    const text = await (await fetch(stack.metricsUrl)).text();
    const m = (labels: Record<string, string>) => metricValue(text, 'llm_gateway_guard_total', labels);
    expect(m({ tenant: 'watcher', verdict: 'flagged', channel: 'user', action: 'pass' })).toBe(CALLERS.length);
    expect(m({ tenant: 'watcher', verdict: 'flagged', channel: 'data', action: 'pass' })).toBe(1);
    expect(m({ tenant: 'watcher', verdict: 'clean' })).toBe(3 * 2 + 1);
    expect(m({ tenant: 'blocker', verdict: 'flagged', channel: 'user', action: 'block' })).toBe(5);
    expect(m({ tenant: 'blocker', verdict: 'flagged', channel: 'data', action: 'block' })).toBe(1);
    expect(m({ tenant: 'blocker', verdict: 'clean', action: 'pass' })).toBe(CALLERS.length * 3 + 2);
    expect(m({ tenant: 'ignorer' })).toBe(0);
  });
});

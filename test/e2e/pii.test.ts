/*
 * End to end: personal data in prompts, through the real Envoy with each API's official SDK.
 * A `redact` tenant's calls reach the provider (the simulator records what it received) with
 * placeholders only — same API or translated, streamed or not, direct or down a fallback chain;
 * a `pii_restore` tenant gets the values back (the simulators echo the prompt, so placeholders
 * come back in the answer, as a model's would); `detect` leaves the body as sent; the metric
 * counts by type; the processor's log holds none of the values.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/lib/local-stack.js';
import { metricValue } from '../helpers/prom.js';
import { CALL, type Caller, type Gateway } from '../helpers/sdk-calls.js';

const KEY = {
  redactor: 'gw-key-pii-redactor-000001',
  restorer: 'gw-key-pii-restorer-000001',
  watcher: 'gw-key-pii-watcher-0000001',
  cached: 'gw-key-pii-cached-00000001',
} as const;
type Tenant = keyof typeof KEY;

const VALUES = {
  email: 'ana.garcia@example.com',
  phone: '+34 612 345 678',
  card: '4111 1111 1111 1111',
  iban: 'ES91 2100 0418 4502 0005 1332',
  dni: '12345678Z',
  nie: 'X1234567L',
  ssn: '536-22-8123',
  ip: '203.0.113.45',
} as const;
type PiiType = keyof typeof VALUES;
const TYPES = Object.keys(VALUES) as PiiType[];

/** The simulators echo the first 40 characters of the prompt: the first three values come back. */
const PROMPT = `${VALUES.email} ${VALUES.phone} ${VALUES.card} — and IBAN ${VALUES.iban}, DNI ${VALUES.dni}, NIE ${VALUES.nie}, SSN ${VALUES.ssn}, from ${VALUES.ip}.`;
const REDACTED = '<EMAIL_1> <PHONE_1> <CARD_1> — and IBAN <IBAN_1>, DNI <DNI_1>, NIE <NIE_1>, SSN <SSN_1>, from <IP_1>.';

/** A model of each backend API, and the simulator serving it (llama3.2 goes down a fallback chain). */
const MODEL = {
  openai: { model: 'gpt-4o-mini', sim: 'openai' },
  anthropic: { model: 'claude-haiku-4-5', sim: 'anthropic' },
  gemini: { model: 'gemini-2.5-flash-lite', sim: 'gemini' },
  ollama: { model: 'llama3.2', sim: 'ollama' },
} as const;

let stack: LocalStack;
const logLines: string[] = [];
/** Calls made per tenant, for the metric's expected counts. */
const calls: Record<Tenant, number> = { redactor: 0, restorer: 0, watcher: 0, cached: 0 };

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-pii-'));
  const tenantsPath = path.join(dir, 'tenants.yaml');
  writeFileSync(
    tenantsPath,
    [
      'tenants:',
      '  redactor: { pii: redact, cache: { enabled: false } }',
      '  restorer: { pii: redact, pii_restore: true, cache: { enabled: false } }',
      '  watcher: { pii: detect, cache: { enabled: false } }',
      '  cached: { pii: redact, pii_restore: true }',
      '',
    ].join('\n'),
  );
  stack = await startLocalStack({
    env: {
      GATEWAY_KEYS: Object.entries(KEY)
        .map(([t, k]) => `${t}:${k}`)
        .join(','),
      TENANTS_PATH: tenantsPath,
    },
    // Everything the processor logs, at every level.
    log: pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }),
  });
});

afterAll(async () => {
  await stack?.close(500);
});

const gateway = (tenant: Tenant): Gateway => ({ url: stack.gatewayUrl, key: KEY[tenant] });

/** Calls `fn` and returns what the simulator `sim` received meanwhile (the call's one request). */
async function received<T>(sim: string, fn: () => Promise<T>): Promise<{ result: T; body: string }> {
  const log = stack.simulators[sim]!.requests;
  const before = log.length;
  const result = await fn();
  expect(log.length, `one request reached ${sim}`).toBe(before + 1);
  return { result, body: JSON.stringify(log[log.length - 1]!.body) };
}

function expectNoValues(text: string): void {
  for (const [type, value] of Object.entries(VALUES)) expect(text, type).not.toContain(value);
}

async function call(tenant: Tenant, api: Caller, backend: keyof typeof MODEL, stream: boolean, prompt = PROMPT, tools = false) {
  calls[tenant]++;
  return received(MODEL[backend].sim, () => CALL[api](gateway(tenant), MODEL[backend].model, prompt, stream, tools));
}

const PAIRS: Array<[Caller, keyof typeof MODEL]> = [
  ['openai', 'openai'],
  ['anthropic', 'anthropic'],
  ['gemini', 'gemini'],
  ['ollama', 'ollama'],
  ['openai', 'anthropic'],
  ['anthropic', 'openai'],
  ['gemini', 'ollama'],
  ['ollama', 'gemini'],
];

describe('redact: the provider sees placeholders only', () => {
  for (const [api, backend] of PAIRS) {
    for (const stream of [false, true]) {
      it(`${api} caller → ${backend} backend, ${stream ? 'streamed' : 'whole'}`, async () => {
        const { result, body } = await call('redactor', api, backend, stream);
        expectNoValues(body);
        expect(body).toContain(REDACTED);
        // Without pii_restore the caller sees what the provider wrote.
        expect(result.text).toContain('<EMAIL_1> <PHONE_1> <CARD_1>');
        expect(result.headers?.get('x-gateway-pii')).toBe('8');
      });
    }
  }

  it('tool-call arguments and tool results in the history are redacted too (same API and translated)', async () => {
    for (const backend of ['openai', 'anthropic'] as const) {
      calls.redactor++;
      const { result, body } = await received(MODEL[backend].sim, () =>
        fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY.redactor}` },
          body: JSON.stringify({
            model: MODEL[backend].model,
            messages: [
              { role: 'system', content: `You assist ${VALUES.email}.` },
              { role: 'user', content: 'Look the customer up.' },
              {
                role: 'assistant',
                content: null,
                tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'crm', arguments: JSON.stringify({ dni: VALUES.dni }) } }],
              },
              { role: 'tool', tool_call_id: 'call_1', content: `phone ${VALUES.phone}, card ${VALUES.card}` },
            ],
            tools: [{ type: 'function', function: { name: 'crm', parameters: { type: 'object', properties: { dni: { type: 'string' } } } } }],
          }),
        }),
      );
      expect(result.status).toBe(200);
      expectNoValues(body);
      expect(body).toContain('<DNI_1>');
      expect(body).toContain('<PHONE_1>');
      expect(body).toContain('<EMAIL_1>');
      expect(result.headers.get('x-gateway-pii')).toBe('4');
    }
  });
});

describe('pii_restore: the caller gets its values back', () => {
  const CASES: Array<[Caller, keyof typeof MODEL, boolean]> = [
    ['openai', 'openai', false],
    ['openai', 'openai', true],
    ['anthropic', 'openai', true],
    ['anthropic', 'anthropic', false],
    ['gemini', 'gemini', true],
    ['ollama', 'ollama', true],
    ['openai', 'gemini', false],
  ];
  for (const [api, backend, stream] of CASES) {
    it(`${api} caller → ${backend} backend, ${stream ? 'streamed' : 'whole'}`, async () => {
      const { result, body } = await call('restorer', api, backend, stream);
      expectNoValues(body);
      expect(result.text).toContain(`You said: ${VALUES.email} ${VALUES.phone} ${VALUES.card}`);
      expect(result.text).not.toMatch(/<(EMAIL|PHONE|CARD)_1>/);
    });
  }

  it('a tool call the model makes with a placeholder in its arguments gets the value (OpenAI, whole and streamed)', async () => {
    for (const stream of [false, true]) {
      const { result, body } = await call('restorer', 'openai', 'openai', stream, `${VALUES.email} [sim:tool]`, true);
      expectNoValues(body);
      expect(result.toolCalls[0]?.arguments).toEqual({ echo: `${VALUES.email} [sim:tool]` });
    }
  });
});

describe('the cache keeps placeholders, and each caller gets its own values back', () => {
  it('a second call with other values of the same kinds is a hit, restored with its own values', async () => {
    const other = { email: 'luis.perez@example.org', phone: '+34 699 888 777', card: '5500 0000 0000 0004' };
    const first = await call('cached', 'openai', 'openai', false, `${VALUES.email} ${VALUES.phone} ${VALUES.card} cache probe`);
    expect(first.result.headers?.get('x-gateway-cache')).toBe('miss');
    expect(first.result.text).toContain(`${VALUES.email} ${VALUES.phone} ${VALUES.card}`);
    const sim = stack.simulators.openai!.requests;
    const seen = sim.length;
    // The entry is written once the answer has gone by.
    let hit: Awaited<ReturnType<(typeof CALL)['openai']>> | undefined;
    for (let i = 0; i < 40 && hit?.headers?.get('x-gateway-cache') !== 'hit'; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      calls.cached++;
      hit = await CALL.openai(gateway('cached'), MODEL.openai.model, `${other.email} ${other.phone} ${other.card} cache probe`, false, false);
    }
    expect(hit?.headers?.get('x-gateway-cache')).toBe('hit');
    expect(sim.length).toBe(seen + (calls.cached - 2));
    expect(hit?.text).toContain(`${other.email} ${other.phone} ${other.card}`);
    expectNoValues(hit?.text ?? '');
    expect(hit?.headers?.get('x-gateway-pii')).toBe('3');
    // The same entry replayed as a stream, with the first caller's values.
    calls.cached++;
    const streamed = await CALL.openai(gateway('cached'), MODEL.openai.model, `${VALUES.email} ${VALUES.phone} ${VALUES.card} cache probe`, true, false);
    expect(streamed.headers?.get('x-gateway-cache')).toBe('hit');
    expect(streamed.text).toContain(`${VALUES.email} ${VALUES.phone} ${VALUES.card}`);
  });
});

describe('detect: counted, nothing changed', () => {
  it.each(PAIRS.slice(0, 5))('%s caller → %s backend: the body reaches the provider as sent', async (api, backend) => {
    const { result, body } = await call('watcher', api, backend, false);
    for (const value of Object.values(VALUES)) expect(body).toContain(value);
    expect(body).not.toContain('<EMAIL_1>');
    expect(result.headers?.get('x-gateway-pii')).toBe('8');
  });
});

describe('metrics and logs', () => {
  it('llm_gateway_pii_detected_total counts every value by type, tenant and action', async () => {
    const text = await (await fetch(stack.metricsUrl)).text();
    for (const type of TYPES) {
      // Every redactor call held one value of each type, except the tool-history ones (e-mail, DNI, phone, card).
      const toolHistory = type === 'email' || type === 'dni' || type === 'phone' || type === 'card' ? 2 : 0;
      expect(metricValue(text, 'llm_gateway_pii_detected_total', { tenant: 'redactor', type, action: 'redacted' }), `redactor ${type}`).toBe(
        calls.redactor - 2 + toolHistory,
      );
      expect(metricValue(text, 'llm_gateway_pii_detected_total', { tenant: 'watcher', type, action: 'detected' }), `watcher ${type}`).toBe(calls.watcher);
    }
    expect(metricValue(text, 'llm_gateway_pii_detected_total', { tenant: 'watcher', action: 'redacted' })).toBe(0);
    expectNoValues(text);
  });

  it("the processor's log holds none of the values", () => {
    expect(logLines.length).toBeGreaterThan(0);
    const log = logLines.join('');
    expectNoValues(log);
    expect(log).not.toContain('luis.perez@example.org');
  });
});

import { describe, expect, it } from 'vitest';
import { createMetrics, type GatewayMetrics } from '../metering/metrics.js';
import type { FormatId } from '../providers/canonical/types.js';
import { conversationTexts } from '../safety/pii/request.js';
import type { PiiMode } from '../safety/pii/types.js';
import type { TenantPolicy } from '../tenants/policy.js';
import { type Caller, readHead } from './caller.js';
import { readChatRequest } from './chat.js';
import type { GatewayContext } from './context.js';
import { screenPii } from './pii.js';

const PATHS: Record<FormatId, string> = {
  openai: '/v1/chat/completions',
  anthropic: '/v1/messages',
  gemini: '/v1beta/models/gemini-2.5-flash:generateContent',
  ollama: '/api/chat',
};

const VALUES = ['ana@x.es', '+34 612 345 678', '4111 1111 1111 1111', 'ES91 2100 0418 4502 0005 1332', '12345678Z', 'X1234567L', '536-22-8123', '10.0.0.1'];
const PROMPT = `Datos: ${VALUES.join(', ')}. Repito: ana@x.es.`;

/** A conversation with a system prompt, a tool call and its result, in each API's own shape. */
const BODIES: Record<FormatId, unknown> = {
  openai: {
    model: 'gpt-4o-mini',
    user: 'bob@y.com',
    messages: [
      { role: 'system', content: 'Agent of ana@x.es' },
      { role: 'user', content: PROMPT },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'crm', arguments: '{"dni":"12345678Z"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'phone +34 612 345 678' },
    ],
  },
  anthropic: {
    model: 'claude-haiku-4-5',
    max_tokens: 64,
    system: 'Agent of ana@x.es',
    messages: [
      { role: 'user', content: PROMPT },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'crm', input: { dni: '12345678Z' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'phone +34 612 345 678' }] },
    ],
  },
  gemini: {
    systemInstruction: { parts: [{ text: 'Agent of ana@x.es' }] },
    contents: [
      { role: 'user', parts: [{ text: PROMPT }] },
      { role: 'model', parts: [{ functionCall: { name: 'crm', args: { dni: '12345678Z' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'crm', response: { result: 'phone +34 612 345 678' } } }] },
    ],
  },
  ollama: {
    model: 'llama3.2',
    messages: [
      { role: 'system', content: 'Agent of ana@x.es' },
      { role: 'user', content: PROMPT },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'crm', arguments: { dni: '12345678Z' } } }] },
      { role: 'tool', tool_name: 'crm', content: 'phone +34 612 345 678' },
    ],
  },
};

function setup(api: FormatId, policy: Partial<TenantPolicy> | undefined, piiMode?: PiiMode) {
  const metrics = createMetrics();
  const gw = { metrics, piiMode } as unknown as GatewayContext;
  const head = readHead({ ':method': 'POST', ':path': PATHS[api] }, 'rid-test');
  const caller = { ...head, principal: { tenant: 'acme' }, policy: policy && { limits: {}, ...policy } } as unknown as Caller;
  const request = readChatRequest(caller, Buffer.from(JSON.stringify(BODIES[api])));
  return { gw, caller, request, metrics };
}

async function counted(metrics: GatewayMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.piiDetected.get()).values) out[`${v.labels.type}/${v.labels.action}`] = v.value;
  return out;
}

describe('screenPii', () => {
  it('off (no policy, no PII_MODE): the request is untouched and nothing is counted', async () => {
    const { gw, caller, request, metrics } = setup('openai', undefined);
    const out = screenPii(gw, caller, request);
    expect(out.request).toBe(request);
    expect(out.pii).toBeUndefined();
    expect(await counted(metrics)).toEqual({});
  });

  it('detect: the request is the same object; counts by type go to the metric and the screen', async () => {
    const { gw, caller, request, metrics } = setup('openai', { pii: 'detect' });
    const out = screenPii(gw, caller, request);
    expect(out.request).toBe(request);
    // The conversation: system 1 e-mail; prompt 2 e-mails and one of each other value; tool call a DNI; tool result a phone.
    expect(out.pii).toEqual({ mode: 'detect', found: 12 });
    expect(await counted(metrics)).toEqual({
      'email/detected': 3,
      'phone/detected': 2,
      'card/detected': 1,
      'iban/detected': 1,
      'dni/detected': 2,
      'nie/detected': 1,
      'ssn/detected': 1,
      'ip/detected': 1,
    });
  });

  it("the tenant's policy wins over PII_MODE, and PII_MODE applies where the policy is silent", () => {
    expect(screenPii(...args(setup('openai', { pii: 'off' }, 'redact'))).pii).toBeUndefined();
    expect(screenPii(...args(setup('openai', {}, 'detect'))).pii?.mode).toBe('detect');
    expect(screenPii(...args(setup('openai', undefined, 'redact'))).pii?.mode).toBe('redact');
  });

  for (const api of ['openai', 'anthropic', 'gemini', 'ollama'] as const) {
    it(`redact (${api}): the canonical form and the caller's body hold placeholders only, and agree`, () => {
      const { gw, caller, request } = setup(api, { pii: 'redact' });
      const out = screenPii(gw, caller, request);
      expect(out.request.rewritten).toBe(true);
      const sent = JSON.stringify(out.request.parsed);
      const canonical = conversationTexts(out.request.chat).join('\n');
      for (const v of VALUES) {
        expect(sent).not.toContain(v);
        expect(canonical).not.toContain(v);
      }
      expect(canonical).toContain('Datos: <EMAIL_1>, <PHONE_1>, <CARD_1>, <IBAN_1>, <DNI_1>, <NIE_1>, <SSN_1>, <IP_1>. Repito: <EMAIL_1>.');
      // The body a same-API backend gets reads back as the canonical form other APIs are built from.
      const reread = caller.caller.parseRequest(out.request.parsed, { pathModel: 'gemini-2.5-flash', stream: false });
      expect(conversationTexts(reread).map(normaliseJson)).toEqual(conversationTexts(out.request.chat).map(normaliseJson));
      // No restore without pii_restore; the caller's own parsed body is left as it was.
      expect(out.pii?.restore).toBeUndefined();
      expect(JSON.stringify(request.parsed)).toContain('ana@x.es');
    });
  }

  it('redact with pii_restore: the way back, placeholder → value; OpenAI `user` outside the conversation is redacted and counted', () => {
    const { gw, caller, request } = setup('openai', { pii: 'redact', piiRestore: true });
    const out = screenPii(gw, caller, request);
    expect(out.pii?.restore?.get('<EMAIL_1>')).toBe('ana@x.es');
    expect(out.pii?.restore?.get('<EMAIL_2>')).toBe('bob@y.com');
    expect((out.request.parsed as { user: string }).user).toBe('<EMAIL_2>');
    expect(out.pii?.found).toBe(13);
  });

  it('redact on a prompt without values: the same request, counted as 0', () => {
    const { gw, caller } = setup('openai', { pii: 'redact', piiRestore: true });
    const plain = readChatRequest(caller, Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'order 55821, v1.2.3' }] })));
    const out = screenPii(gw, caller, plain);
    expect(out.request).toBe(plain);
    expect(out.pii).toEqual({ mode: 'redact', found: 0 });
  });
});

function args(s: ReturnType<typeof setup>): Parameters<typeof screenPii> {
  return [s.gw, s.caller, s.request];
}

/** Tool arguments are JSON text: compare them as values, not spellings. */
function normaliseJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

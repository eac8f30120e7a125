/*
 * End to end: every caller API × every backend API × stream and non-stream, through real Envoy
 * and the real processor, with each API's official SDK as the caller and each provider's
 * simulator as the backend. Text, usage, finish reason, tool calls and gateway headers must come
 * back in the caller's own terms, whichever backend served them.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { echoFragment, responseWords } from '../../simulators/openai/completion.js';
import { BACKENDS, CALL, CALLERS, FINISH, WEATHER_TOOL, type Gateway } from '../helpers/sdk-calls.js';

const KEY = 'gw-key-matrix-0001';
const WORDS = 7;
const TOOL_TOKENS = 12;

let stack: LocalStack;
let gw: Gateway;

beforeAll(async () => {
  stack = await startLocalStack({ env: { GATEWAY_KEYS: `matrix:${KEY}`, CACHE_TTL_SECONDS: '0' }, log: pino({ level: 'silent' }) });
  gw = { url: stack.gatewayUrl, key: KEY };
});

afterAll(async () => {
  await stack?.close(500);
});

describe.each(CALLERS)('%s caller', (caller) => {
  describe.each(BACKENDS)('→ $api backend', (backend) => {
    for (const stream of [false, true]) {
      const mode = stream ? 'stream' : 'non-stream';

      it(`${mode}: text, usage, finish reason and headers in the caller's terms`, async () => {
        const prompt = `matrix ${caller} to ${backend.api} ${mode} [sim:tokens=${WORDS}]`;
        const sim = stack.simulators[backend.provider]!;
        const before = sim.requestCount();
        const seen = await CALL[caller](gw, backend.model, prompt, stream, false);
        expect(sim.requestCount()).toBe(before + 1);
        const upstream = sim.requests.at(-1)!;
        expect(seen.text).toBe(responseWords(prompt, WORDS).join(' '));
        expect(seen.outputTokens).toBe(WORDS);
        expect(upstream.usage?.output).toBe(WORDS);
        expect(seen.inputTokens).toBe(upstream.usage?.input);
        expect(seen.finish).toBe(FINISH[caller].stop);
        expect(seen.headers?.get('x-gateway-provider')).toBe(backend.provider);
        expect(seen.headers?.get('x-gateway-request-id')).toBeTruthy();
        expect(seen.headers?.get('x-gateway-model')).toBeTruthy();
      });

      it(`${mode}: a tool call comes back as the caller's tool call`, async () => {
        const prompt = `weather please ${caller} ${backend.api} [sim:tool]`;
        const seen = await CALL[caller](gw, backend.model, prompt, stream, true);
        expect(seen.toolCalls).toEqual([{ name: WEATHER_TOOL.name, arguments: { echo: echoFragment(prompt) } }]);
        expect(seen.text).toBe('');
        expect(seen.outputTokens).toBe(TOOL_TOKENS);
        expect(seen.finish).toBe(FINISH[caller].tool);
      });
    }
  });
});

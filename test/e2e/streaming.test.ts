/*
 * End to end: translated streams are not buffered. With the backends pacing their tokens, the
 * caller's SDK must see the first token long before the backend has finished the stream.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { responseWords } from '../../simulators/openai/completion.js';

const KEY = 'gw-key-stream-0001';
const TOKENS = 20;
const TOKENS_PER_SECOND = 20; // a one-second stream

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: `st:${KEY}`, CACHE_TTL_SECONDS: '0' },
    log: pino({ level: 'silent' }),
    simulator: { tokensPerSecond: TOKENS_PER_SECOND },
    ownSimulators: { ollama: { tokensPerSecond: TOKENS_PER_SECOND } },
  });
});

afterAll(async () => {
  await stack?.close(500);
});

describe('streaming through translation', () => {
  it('an Anthropic caller gets its first text delta from an OpenAI backend while the backend is still streaming', async () => {
    const client = new Anthropic({ apiKey: KEY, baseURL: stack.gatewayUrl, maxRetries: 0 });
    const prompt = `first token please [sim:tokens=${TOKENS}]`;
    const started = Date.now();
    let firstAt: number | undefined;
    let text = '';
    const stream = await client.messages.create({ model: 'gpt-4o-mini', max_tokens: 256, messages: [{ role: 'user', content: prompt }], stream: true });
    for await (const e of stream) {
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') {
        firstAt ??= Date.now() - started;
        text += e.delta.text;
      }
    }
    const total = Date.now() - started;
    expect(text).toBe(responseWords(prompt, TOKENS).join(' '));
    // The backend needs ~1 s for 20 tokens: the first one must arrive in its first half.
    expect(total).toBeGreaterThanOrEqual(800);
    expect(firstAt).toBeLessThan(total / 2);
  });

  it('a Gemini caller streaming from a local Ollama backend sees chunks as they are generated', async () => {
    const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: stack.gatewayUrl } });
    const prompt = `ollama pace [sim:tokens=${TOKENS}]`;
    const started = Date.now();
    const arrivals: number[] = [];
    let text = '';
    for await (const chunk of await ai.models.generateContentStream({ model: 'llama3.2', contents: prompt })) {
      if (chunk.text) {
        arrivals.push(Date.now() - started);
        text += chunk.text;
      }
    }
    expect(text).toBe(responseWords(prompt, TOKENS).join(' '));
    expect(arrivals.length).toBeGreaterThan(TOKENS / 2);
    const total = Date.now() - started;
    expect(arrivals[0]).toBeLessThan(total / 2);
    // Spread over the stream, not delivered in one burst at the end.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(total / 2);
  });
});

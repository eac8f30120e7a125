import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaSimulator, type OllamaSimulator } from '../../../../simulators/ollama/server.js';
import type { CanonicalRequest, StreamEvent } from '../canonical/types.js';
import { ollamaFormat } from './index.js';

/** The backend side of the format against the Ollama simulator: build, address, decode. */
describe('ollamaFormat as a backend (Ollama simulator)', () => {
  let sim: OllamaSimulator;
  beforeAll(async () => {
    sim = await startOllamaSimulator({ apiKey: 'proxy-key', parallel: 2 });
  });
  afterAll(async () => {
    await sim.close();
  });

  async function call(req: CanonicalRequest): Promise<Response> {
    const { path, headers } = ollamaFormat.upstreamCall({ basePath: '', upstreamModel: 'llama3.2', stream: req.stream, credential: 'proxy-key' });
    return fetch(sim.url + path, {
      method: 'POST',
      headers: [['content-type', 'application/json'], ...headers],
      body: JSON.stringify(ollamaFormat.buildRequest(req, 'llama3.2')),
    });
  }

  const req = (extra: Partial<CanonicalRequest>): CanonicalRequest => ({
    model: 'local-small',
    system: 'Be brief.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there [sim:tokens=8]' }] }],
    stream: false,
    sameFormatOnly: [],
    ...extra,
  });

  it('non-stream: the answer, its finish and usage as the backend counted them', async () => {
    const res = await call(req({}));
    expect(res.status).toBe(200);
    const answer = ollamaFormat.parseResponse(await res.json());
    expect(answer.content).toEqual([{ type: 'text', text: 'Hello from the simulator. You said: Hello there' }]);
    expect(answer.finishReason).toBe('stop');
    const usage = sim.requests.at(-1)!.usage!;
    expect(answer.usage).toEqual({ inputTokens: usage.input, outputTokens: usage.output, cachedInputTokens: 0, reasoningTokens: 0 });
    // The built body was sent as Ollama expects it: system first, stream explicit.
    expect(sim.requests.at(-1)!.body).toMatchObject({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user' }], stream: false });
  });

  it('stream, decoded from bytes split into 3-byte chunks; maxTokens truncates to length', async () => {
    const res = await call(req({ stream: true, maxTokens: 4 }));
    const bytes = Buffer.from(await res.arrayBuffer());
    const dec = ollamaFormat.createStreamDecoder();
    const events: StreamEvent[] = [];
    for (let i = 0; i < bytes.length; i += 3) events.push(...dec.push(bytes.subarray(i, i + 3)));
    events.push(...dec.end());
    expect(events[0]).toMatchObject({ type: 'start', model: 'llama3.2' });
    expect(events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('')).toBe('Hello from the simulator.');
    expect(events.find((e) => e.type === 'finish')).toEqual({ type: 'finish', reason: 'length' });
    const usage = sim.requests.at(-1)!.usage!;
    expect(events.find((e) => e.type === 'usage')).toEqual({
      type: 'usage',
      usage: { inputTokens: usage.input, outputTokens: 4, cachedInputTokens: 0, reasoningTokens: 0 },
    });
  });

  it('a tool round: the call comes back as call_0 with JSON arguments; its result goes back by tool_name', async () => {
    const tools = [{ name: 'lookup', parameters: { type: 'object', properties: { echo: { type: 'string' } } } }];
    const first = ollamaFormat.parseResponse(
      await (await call(req({ tools, messages: [{ role: 'user', content: [{ type: 'text', text: 'find it [sim:tool]' }] }] }))).json(),
    );
    expect(first.finishReason).toBe('tool_calls');
    expect(first.content).toEqual([{ type: 'tool_call', id: 'call_0', name: 'lookup', arguments: '{"echo":"find it [sim:tool]"}' }]);

    const second = ollamaFormat.parseResponse(
      await (
        await call(
          req({
            tools,
            messages: [
              { role: 'user', content: [{ type: 'text', text: 'find it [sim:tool]' }] },
              { role: 'assistant', content: first.content },
              { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_0', content: 'found: 42' }] },
            ],
          }),
        )
      ).json(),
    );
    expect(sim.requests.at(-1)!.body).toMatchObject({ messages: [{}, {}, { role: 'assistant' }, { role: 'tool', tool_name: 'lookup', content: 'found: 42' }] });
    expect(second.finishReason).toBe('stop');
    expect(second.content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('You said: found: 42') });
  });

  it('errors: the simulator 404 body parses to its message', async () => {
    const res = await fetch(`${sim.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: 'Bearer proxy-key' },
      body: JSON.stringify(ollamaFormat.buildRequest(req({}), 'missing-model')),
    });
    expect(res.status).toBe(404);
    expect(ollamaFormat.parseError(await res.text())).toEqual({ message: 'model "missing-model" not found, try pulling it first' });
  });

  it('a mid-stream error line decodes to an error event', async () => {
    const { path, headers } = ollamaFormat.upstreamCall({ basePath: '', upstreamModel: 'llama3.2', stream: true, credential: 'proxy-key' });
    const res = await fetch(sim.url + path, {
      method: 'POST',
      headers: [...headers, ['x-sim-fail', 'stream-error']],
      body: JSON.stringify(ollamaFormat.buildRequest(req({ stream: true }), 'llama3.2')),
    });
    const dec = ollamaFormat.createStreamDecoder();
    const events = [...dec.push(Buffer.from(await res.arrayBuffer())), ...dec.end()];
    expect(events.at(-1)).toEqual({ type: 'error', message: 'an error was encountered while running the model: unexpected EOF', status: 502 });
    expect(events.some((e) => e.type === 'finish')).toBe(false);
  });
});

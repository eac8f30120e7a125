import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoFragment, planCompletion, startOpenAISimulator, TOOL_CALL_TOKENS, type OpenAISimulator } from '../../../../simulators/openai/server.js';
import { GatewayError } from '../../errors.js';
import type { StreamEvent } from '../canonical/types.js';
import { openaiFormat } from './index.js';

const fixtureText = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('openaiFormat', () => {
  it('is the openai format with an SSE stream type', () => {
    expect(openaiFormat.id).toBe('openai');
    expect(openaiFormat.streamContentType).toBe('text/event-stream');
  });

  it('upstreamCall: chat/completions under the base path, bearer auth only with a credential', () => {
    const input = { upstreamModel: 'm', stream: false, credential: 'sk-1' };
    expect(openaiFormat.upstreamCall({ ...input, basePath: '' })).toEqual({ path: '/chat/completions', headers: [['authorization', 'Bearer sk-1']] });
    expect(openaiFormat.upstreamCall({ ...input, basePath: '/openai/v1', stream: true }).path).toBe('/openai/v1/chat/completions');
    expect(openaiFormat.upstreamCall({ ...input, basePath: '/v1', credential: undefined })).toEqual({ path: '/v1/chat/completions', headers: [] });
  });

  it('parseRequest validates first: a bad body is a 400 naming the field', () => {
    let err: unknown;
    try {
      openaiFormat.parseRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 5 }, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(400);
    expect((err as GatewayError).opts.param).toBe('temperature');
    expect(openaiFormat.parseRequest(JSON.parse(fixtureText('chat-request-basic.json')), {}).system).toBe('You are a helpful assistant.');
  });

  it('renderError and parseError speak OpenAI error bodies', () => {
    const rendered = openaiFormat.renderError(new GatewayError('rate_limit', 'Slow down.', { code: 'rate_limit_exceeded' }));
    expect(JSON.parse(rendered)).toEqual({ error: { message: 'Slow down.', type: 'rate_limit_exceeded', param: null, code: 'rate_limit_exceeded' } });
    expect(openaiFormat.parseError(rendered)).toEqual({ message: 'Slow down.', type: 'rate_limit_exceeded' });
    expect(openaiFormat.parseError(fixtureText('error-401.json'))).toEqual({
      message: expect.stringContaining('Incorrect API key provided') as string,
      type: 'invalid_request_error',
    });
    expect(openaiFormat.parseError(fixtureText('error-429.json'))?.type).toBe('requests');
    // Compatible servers: a bare string, vLLM's top-level fields.
    expect(openaiFormat.parseError('{"error":"model not found"}')).toEqual({ message: 'model not found' });
    expect(openaiFormat.parseError('{"object":"error","message":"too long","type":"BadRequestError","code":400}')).toEqual({
      message: 'too long',
      type: 'BadRequestError',
    });
    for (const body of ['', 'upstream connect error', '[]', '{"detail":"x"}', 'null']) expect(openaiFormat.parseError(body)).toBeUndefined();
  });
});

describe('openaiFormat against the OpenAI simulator', () => {
  let sim: OpenAISimulator;
  beforeAll(async () => {
    sim = await startOpenAISimulator({ apiKey: 'sk-sim' });
  });
  afterAll(async () => {
    await sim.close();
  });

  async function call(callerBody: unknown, upstreamModel: string): Promise<Response> {
    const req = openaiFormat.parseRequest(callerBody, {});
    const up = openaiFormat.upstreamCall({ basePath: '/v1', upstreamModel, stream: req.stream, credential: 'sk-sim' });
    return fetch(sim.url + up.path, {
      method: 'POST',
      headers: Object.fromEntries([...up.headers, ['content-type', 'application/json']]),
      body: JSON.stringify(openaiFormat.buildRequest(req, upstreamModel)),
    });
  }

  it('non-stream: request built, response parsed and rendered with the caller-facing name', async () => {
    const callerBody = { model: 'alias', messages: [{ role: 'user', content: 'Ping [sim:tokens=5]' }], max_completion_tokens: 3 };
    const res = await call(callerBody, 'gpt-4o-mini');
    expect(res.status).toBe(200);
    const parsed = openaiFormat.parseResponse(await res.json());
    const rec = sim.requests.at(-1)!;
    expect((rec.body as { model: string; max_tokens: number }).model).toBe('gpt-4o-mini');
    expect((rec.body as { max_tokens: number }).max_tokens).toBe(3);
    expect(parsed.finishReason).toBe('length');
    expect(parsed.usage).toMatchObject({ inputTokens: rec.usage!.input, outputTokens: rec.usage!.output });
    const rendered = openaiFormat.renderResponse(parsed, { id: 'chatcmpl-gw', model: 'alias', created: 5 });
    expect(rendered).toMatchObject({ id: 'chatcmpl-gw', model: 'alias', choices: [{ message: { content: 'Hello from the' }, finish_reason: 'length' }] });
  });

  it('stream with a tool call: decoded events carry the call, its arguments, the finish and the usage', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
    const res = await call({ model: 'alias', messages: [{ role: 'user', content: 'Find it [sim:tool]' }], tools, stream: true }, 'gpt-4o');
    const decoder = openaiFormat.createStreamDecoder();
    const events: StreamEvent[] = [];
    // Re-chunk the body into 7-byte pieces so events straddle pushes.
    const bytes = Buffer.from(await res.arrayBuffer());
    for (let i = 0; i < bytes.length; i += 7) events.push(...decoder.push(bytes.subarray(i, i + 7)));
    events.push(...decoder.end());

    const rec = sim.requests.at(-1)!;
    expect((rec.body as { stream_options: unknown }).stream_options).toEqual({ include_usage: true });
    const start = events.find((e) => e.type === 'tool_call_start');
    expect(start).toEqual({ type: 'tool_call_start', index: 0, id: expect.stringMatching(/^call_/) as string, name: 'lookup' });
    const args = events.flatMap((e) => (e.type === 'tool_call_delta' ? [e.arguments] : []));
    expect(args.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(args.join(''))).toEqual({ echo: echoFragment('Find it [sim:tool]') });
    expect(events.slice(-2)).toEqual([
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: { inputTokens: rec.usage!.input, outputTokens: TOOL_CALL_TOKENS, cachedInputTokens: 0, reasoningTokens: 0 } },
    ]);

    // The caller did not ask for usage: the re-encoded stream has no usage chunk but the same text.
    const enc = openaiFormat.createStreamEncoder({ id: 'chatcmpl-gw', model: 'alias', created: 1, includeUsage: false });
    const out = enc.encode(events) + enc.end(false);
    expect(out).not.toContain('"usage"');
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('stream of text: the concatenated text is the simulator answer', async () => {
    const messages = [{ role: 'user', content: 'Tell me [sim:tokens=12]' }];
    const res = await call({ model: 'alias', messages, stream: true }, 'gpt-4o');
    const decoder = openaiFormat.createStreamDecoder();
    const events = [...decoder.push(Buffer.from(await res.arrayBuffer())), ...decoder.end()];
    const text = events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
    expect(text).toBe(planCompletion({ messages }).content);
  });

  it('an upstream error body is readable by parseError', async () => {
    const req = openaiFormat.parseRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, {});
    const up = openaiFormat.upstreamCall({ basePath: '/v1', upstreamModel: 'm', stream: false, credential: 'sk-wrong' });
    const res = await fetch(sim.url + up.path, {
      method: 'POST',
      headers: Object.fromEntries(up.headers),
      body: JSON.stringify(openaiFormat.buildRequest(req, 'm')),
    });
    expect(res.status).toBe(401);
    expect(openaiFormat.parseError(await res.text())).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining('Incorrect API key') as string,
    });
  });
});

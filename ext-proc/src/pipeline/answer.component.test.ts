/**
 * Component tests of the answer side (RouterAnswer and the readers), driven the way Envoy drives
 * the processor (full-duplex, over a real HTTP/2 connection): what a provider's broken or failed
 * answer becomes for the caller, in the caller's own API.
 */
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyPeer, GATEWAY_PROTOCOL, type PeerRequest, type PeerResponse } from '../../../test/helpers/ext-proc-peer.js';
import { readEnv } from '../config/env.js';
import { CALLER_API_METADATA_KEY } from '../contract.js';
import { startGateway, type Gateway } from '../gateway.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../providers/${name}`, import.meta.url));
const CHAT_RESPONSE = fixture('openai/fixtures/chat-response.json');
const CHAT_STREAM = fixture('openai/fixtures/chat-stream.sse');

const KEY = 'gw-key-answers-0001';
let gateway: Gateway;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = {
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    GATEWAY_KEYS: `answers:${KEY}`,
    OPENAI_API_KEY: 'test-openai-key',
    ANTHROPIC_API_KEY: 'test-anthropic-key',
    GEMINI_API_KEY: 'test-gemini-key',
    CACHE_TTL_SECONDS: '0',
    LOG_LEVEL: 'silent',
  };
  gateway = await startGateway(readEnv(env), env, pino({ level: 'silent' }));
  session = http2.connect(`http://127.0.0.1:${gateway.grpcPort}`);
});

afterAll(async () => {
  session?.close();
  await gateway?.close(1000);
});

type Api = 'openai' | 'anthropic' | 'gemini';
let rid = 0;

/** A chat call of `api` asking for `model`, as its SDK sends it. */
function call(api: Api, model: string, stream = false): { headers: PeerRequest; body: string } {
  const common = { ':method': 'POST', ':authority': 'gateway.local', 'content-type': 'application/json', 'x-request-id': `answers-${++rid}` };
  let path: string;
  let auth: Record<string, string>;
  let body: Record<string, unknown>;
  if (api === 'openai') {
    path = '/v1/chat/completions';
    auth = { authorization: `Bearer ${KEY}` };
    body = { model, stream, messages: [{ role: 'user', content: 'Hello!' }] };
  } else if (api === 'anthropic') {
    path = '/v1/messages';
    auth = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };
    body = { model, stream, max_tokens: 64, messages: [{ role: 'user', content: 'Hello!' }] };
  } else {
    path = `/v1beta/models/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
    auth = { 'x-goog-api-key': KEY };
    body = { contents: [{ role: 'user', parts: [{ text: 'Hello!' }] }] };
  }
  const text = JSON.stringify(body);
  return {
    headers: { kind: 'request_headers', protocol: GATEWAY_PROTOCOL, headers: { ...common, ...auth, ':path': path, 'content-length': String(text.length) } },
    body: text,
  };
}

/** Sends the call and returns the peer once the processor forwarded it, with what it forwarded. */
async function forwarded(api: Api, model: string, stream = false): Promise<{ peer: EnvoyPeer; forward: PeerResponse }> {
  const peer = new EnvoyPeer(session);
  const c = call(api, model, stream);
  peer.send(c.headers, { kind: 'request_body', body: c.body, endOfStream: true });
  const [forward] = await peer.next(2);
  expect(forward!.kind).toBe('request_headers');
  return { peer, forward: forward! };
}

/** The error shape of each API; returns the message. */
function errorOf(api: Api, status: number, body: Buffer): { message: string; code?: unknown } {
  const b = JSON.parse(body.toString('utf8')) as Record<string, any>;
  if (api === 'openai') {
    expect(b.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
    return { message: b.error.message, code: b.error.code };
  }
  if (api === 'anthropic') {
    expect(b).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
    return { message: b.error.message };
  }
  expect(b.error).toMatchObject({ code: status, message: expect.any(String), status: expect.stringMatching(/^[A-Z_]+$/) });
  return { message: b.error.message };
}

/** The whole answer's headers and body, once the processor sent them. */
async function wholeAnswer(peer: EnvoyPeer): Promise<{ status: string | undefined; set: Record<string, string>; body: Buffer }> {
  const [h, b] = await peer.next(2);
  expect(h!.kind).toBe('response_headers');
  expect(b!.kind).toBe('response_body');
  return { status: h!.headers.set[':status'], set: h!.headers.set, body: b!.body!.streamed! };
}

describe("a 2xx that is not an answer is a 502 in the caller's API", () => {
  it.each([
    ['anthropic', 'gpt-4o-mini', false],
    ['openai', 'gpt-4o-mini', true],
    ['gemini', 'claude-haiku-4-5', false],
  ] as const)('an empty body (%s caller, %s, stream %s): an immediate 502 with the request id', async (api, model, stream) => {
    const { peer } = await forwarded(api, model, stream);
    peer.send({ kind: 'response_headers', headers: { ':status': '200', 'content-type': 'application/json', 'content-length': '0' }, endOfStream: true });
    const [r] = await peer.next(1);
    expect(r!.kind).toBe('immediate');
    expect(r!.immediate!.status).toBe(502);
    expect(r!.headers.set['x-gateway-request-id']).toMatch(/^answers-/);
    expect(errorOf(api, 502, r!.immediate!.body).message).toMatch(/could not read.*empty body/);
    peer.end();
  });

  it('an HTML page labelled text/html, whole or stream: its body replaced by the 502', async () => {
    for (const stream of [false, true]) {
      const { peer } = await forwarded('gemini', 'gemini-2.5-flash-lite', stream);
      peer.send(
        { kind: 'response_headers', headers: { ':status': '200', 'content-type': 'text/html; charset=utf-8' } },
        { kind: 'response_body', body: '<html><title>502 Bad Gateway</title></html>', endOfStream: true },
      );
      const a = await wholeAnswer(peer);
      expect(a.status).toBe('502');
      expect(a.set['content-type']).toBe('application/json');
      expect(errorOf('gemini', 502, a.body).message).toMatch(/content-type text\/html/);
      peer.end();
    }
  });

  it('the right body labelled text/plain is refused as well (same API, passed through unread otherwise)', async () => {
    const { peer } = await forwarded('openai', 'gpt-4o-mini');
    peer.send(
      { kind: 'response_headers', headers: { ':status': '200', 'content-type': 'text/plain' } },
      { kind: 'response_body', body: CHAT_RESPONSE, endOfStream: true },
    );
    const a = await wholeAnswer(peer);
    expect(a.status).toBe('502');
    expect(errorOf('openai', 502, a.body).code).toBe('upstream_invalid_response');
    peer.end();
  });

  it('truncated JSON from a provider of the same API: a 502, not the broken bytes', async () => {
    const { peer } = await forwarded('openai', 'gpt-4o-mini');
    peer.send(
      { kind: 'response_headers', headers: { ':status': '200', 'content-type': 'application/json' } },
      { kind: 'response_body', body: CHAT_RESPONSE.subarray(0, CHAT_RESPONSE.length / 2), endOfStream: true },
    );
    const a = await wholeAnswer(peer);
    expect(a.status).toBe('502');
    expect(a.set['x-gateway-cost-usd']).toBeUndefined();
    expect(errorOf('openai', 502, a.body).code).toBe('upstream_invalid_response');
    peer.end();
  });

  it.each(['anthropic', 'gemini'] as const)("an unreadable answer of another API is a 502 in the %s caller's shape", async (api) => {
    const { peer } = await forwarded(api, 'gpt-4o-mini');
    peer.send(
      { kind: 'response_headers', headers: { ':status': '200', 'content-type': 'application/json' } },
      { kind: 'response_body', body: '{"id": \u0000 not json', endOfStream: true },
    );
    const a = await wholeAnswer(peer);
    expect(a.status).toBe('502');
    expect(errorOf(api, 502, a.body).message).toMatch(/could not read/);
    peer.end();
  });

  it('a stream of the same API that stops early ends with an error event', async () => {
    const { peer } = await forwarded('openai', 'gpt-4o-mini', true);
    peer.send({ kind: 'response_headers', headers: { ':status': '200', 'content-type': 'text/event-stream' } });
    await peer.next(1);
    const cut = CHAT_STREAM.subarray(0, Math.floor(CHAT_STREAM.length / 2));
    peer.send({ kind: 'response_body', body: cut, endOfStream: true });
    const [last] = await peer.next(1);
    const text = last!.body!.streamed!.toString();
    expect(text).not.toContain('[DONE]');
    const lastEvent = text.trimEnd().split('\n\n').at(-1)!;
    expect(JSON.parse(lastEvent.slice('data: '.length))).toMatchObject({ error: { type: 'server_error' } });
    peer.end();
  });
});

describe("a provider's 500 is upstream trouble: a 502", () => {
  it("same API: the provider's body, with the status 502", async () => {
    const { peer } = await forwarded('openai', 'gpt-4o-mini');
    const body = JSON.stringify({
      error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null },
    });
    peer.send(
      { kind: 'response_headers', headers: { ':status': '500', 'content-type': 'application/json' } },
      { kind: 'response_body', body, endOfStream: true },
    );
    const a = await wholeAnswer(peer);
    expect(a.status).toBe('502');
    expect(a.body.toString()).toBe(body);
    peer.end();
  });

  it("a Gemini caller: re-rendered, its code the answer's status", async () => {
    const { peer } = await forwarded('gemini', 'gemini-2.5-flash-lite');
    peer.send(
      { kind: 'response_headers', headers: { ':status': '500', 'content-type': 'application/json' } },
      { kind: 'response_body', body: JSON.stringify({ error: { code: 500, message: 'Internal error', status: 'INTERNAL' } }), endOfStream: true },
    );
    const a = await wholeAnswer(peer);
    expect(a.status).toBe('502');
    expect(errorOf('gemini', 502, a.body).message).toContain('Internal error');
    peer.end();
  });
});

describe("the caller's API travels with the call", () => {
  it.each(['openai', 'anthropic', 'gemini'] as const)(
    'a %s call names its API in the dynamic metadata it is forwarded with (for Envoy’s own replies)',
    async (api) => {
      const { peer, forward } = await forwarded(api, api === 'gemini' ? 'gemini-2.5-flash-lite' : 'gpt-4o-mini');
      expect(forward.metadata?.llm_gateway).toMatchObject({ request_id: expect.stringMatching(/^answers-/), [CALLER_API_METADATA_KEY]: api });
      peer.end();
    },
  );

  it("an unknown path is answered in the API the SDK's headers name", async () => {
    const peer = new EnvoyPeer(session);
    peer.send({
      kind: 'request_headers',
      protocol: GATEWAY_PROTOCOL,
      endOfStream: true,
      headers: { ':method': 'POST', ':path': '/v1/models', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
    });
    const [r] = await peer.next(1);
    expect(r!.immediate!.status).toBe(404);
    expect(errorOf('anthropic', 404, r!.immediate!.body).message).toMatch(/Unknown endpoint/);
    peer.end();
  });
});

/**
 * Component tests of the processor in the gateway's own filter configuration (request body
 * STREAMED without waiting for the headers' answer, response body FULL_DUPLEX_STREAMED), driven
 * over a real HTTP/2 connection the way Envoy drives it: messages sent as they happen, answers
 * read as they come. The classic configuration has its own suite (exchange.component.test.ts).
 */
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyPeer, GATEWAY_PROTOCOL, type PeerRequest } from '../../../test/helpers/ext-proc-peer.js';
import { readEnv } from '../config/env.js';
import { startGateway, type Gateway } from '../gateway.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../providers/${name}`, import.meta.url));
const CHAT_RESPONSE = fixture('openai/fixtures/chat-response.json');
const STREAM_WITH_USAGE = fixture('openai/fixtures/chat-stream-usage.sse');
const ANTHROPIC_RESPONSE = fixture('anthropic/fixtures/messages-response.json');
const ERROR_401 = fixture('openai/fixtures/error-401.json');

const KEY = 'gw-key-duplex-0001';
const MAX_REQUEST_BYTES = 64 * 1024;

let gateway: Gateway;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = {
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    GATEWAY_KEYS: `duplex:${KEY}`,
    OPENAI_API_KEY: 'test-provider-key',
    ANTHROPIC_API_KEY: 'test-anthropic-key',
    MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
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

let rid = 0;
function requestHeaders(body: string, extra: Record<string, string> = {}): PeerRequest {
  return {
    kind: 'request_headers',
    protocol: GATEWAY_PROTOCOL,
    headers: {
      ':method': 'POST',
      ':path': '/v1/chat/completions',
      ':authority': 'gateway.local',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      authorization: `Bearer ${KEY}`,
      'x-request-id': `duplex-${++rid}`,
      ...extra,
    },
  };
}

const chat = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello!' }], ...extra });

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
}

describe('request: headers and body answered together', () => {
  it('answers headers (routing, credential, route cache) and each body chunk once the body is whole', async () => {
    const peer = new EnvoyPeer(session);
    const body = chat();
    const half = Math.floor(body.length / 2);
    peer.send(requestHeaders(body), { kind: 'request_body', body: body.slice(0, half), endOfStream: false });
    await new Promise((r) => setTimeout(r, 50));
    // Nothing can be decided before the body is whole.
    expect(peer.received()).toBe(0);
    peer.send({ kind: 'request_body', body: body.slice(half), endOfStream: true });
    const [h, b1, b2] = await peer.next(3);
    expect(h!.kind).toBe('request_headers');
    expect(h!.clearRouteCache).toBe(true);
    expect(h!.headers.set['x-gateway-cluster']).toBe('openai');
    expect(h!.headers.set[':authority']).toBe('api.openai.com');
    expect(h!.headers.set.authorization).toBe('Bearer test-provider-key');
    expect(h!.headers.remove).toEqual(expect.arrayContaining(['authorization', 'accept-encoding']));
    // Same API and model: the caller's bytes go on untouched, chunk by chunk.
    expect([b1!.kind, b2!.kind]).toEqual(['request_body', 'request_body']);
    expect(b1!.body).toBeUndefined();
    expect(b2!.body).toBeUndefined();
    peer.end();
  });

  it("puts a rebuilt body in the first chunk's answer and clears the others", async () => {
    const peer = new EnvoyPeer(session);
    const body = chat({ model: 'claude-haiku-4-5' });
    peer.send(
      requestHeaders(body),
      { kind: 'request_body', body: body.slice(0, 10), endOfStream: false },
      { kind: 'request_body', body: body.slice(10), endOfStream: true },
    );
    const [h, b1, b2] = await peer.next(3);
    expect(h!.headers.set['x-gateway-cluster']).toBe('anthropic');
    expect(h!.headers.set[':path']).toBe('/v1/messages');
    const rebuilt = JSON.parse(b1!.body!.replace!.toString('utf8')) as { model: string; max_tokens: number };
    expect(rebuilt.model).toBe('claude-haiku-4-5');
    expect(rebuilt.max_tokens).toBeGreaterThan(0);
    expect(b2!.body?.clear).toBe(true);
    peer.end();
  });

  it('refuses an unknown key at once, without waiting for the rest of the body', async () => {
    const peer = new EnvoyPeer(session);
    const body = chat();
    peer.send(requestHeaders(body, { authorization: 'Bearer nope-nope-nope' }));
    peer.send({ kind: 'request_body', body: body.slice(0, 5), endOfStream: false });
    const [r] = await peer.next(1);
    expect(r!.kind).toBe('immediate');
    expect(r!.immediate!.status).toBe(401);
    expect(JSON.parse(r!.immediate!.body.toString()).error.code).toBe('invalid_api_key');
    // The rest of the body changes nothing.
    peer.send({ kind: 'request_body', body: body.slice(5), endOfStream: true });
    await new Promise((r2) => setTimeout(r2, 50));
    expect(peer.received()).toBe(0);
    peer.end();
  });

  it("answers 413 as soon as the body passes the limit, in the caller's API", async () => {
    const peer = new EnvoyPeer(session);
    const big = 'x'.repeat(40 * 1024);
    peer.send(
      requestHeaders('', { ':path': '/v1/messages', 'anthropic-version': '2023-06-01', 'content-length': '0' }),
      { kind: 'request_body', body: big, endOfStream: false },
      { kind: 'request_body', body: big, endOfStream: false },
    );
    const [r] = await peer.next(1);
    expect(r!.immediate!.status).toBe(413);
    expect(JSON.parse(r!.immediate!.body.toString())).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    peer.end();
  });

  it('answers a model list on the headers alone', async () => {
    const peer = new EnvoyPeer(session);
    peer.send({
      kind: 'request_headers',
      protocol: GATEWAY_PROTOCOL,
      endOfStream: true,
      headers: { ':method': 'GET', ':path': '/v1/models', authorization: `Bearer ${KEY}` },
    });
    const [r] = await peer.next(1);
    expect(r!.immediate!.status).toBe(200);
    expect((JSON.parse(r!.immediate!.body.toString()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
    peer.end();
  });
});

/** Sends a valid chat call and consumes the request-side answers. */
async function forwarded(body = chat()): Promise<EnvoyPeer> {
  const peer = new EnvoyPeer(session);
  peer.send(requestHeaders(body), { kind: 'request_body', body, endOfStream: true });
  await peer.next(2);
  return peer;
}

describe('response: full duplex', () => {
  it('a whole answer: headers held until the body is read, then sent with its cost in one go', async () => {
    const peer = await forwarded();
    peer.send({
      kind: 'response_headers',
      headers: { ':status': '200', 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '9', 'openai-organization': 'org-x' },
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(peer.received()).toBe(0);
    const half = Math.floor(CHAT_RESPONSE.length / 2);
    peer.send(
      { kind: 'response_body', body: CHAT_RESPONSE.subarray(0, half), endOfStream: false },
      { kind: 'response_body', body: CHAT_RESPONSE.subarray(half), endOfStream: true },
    );
    const [h, b] = await peer.next(2);
    expect(h!.kind).toBe('response_headers');
    expect(h!.headers.set['x-gateway-model']).toBe('gpt-4o-mini');
    expect(h!.headers.set['x-gateway-cost-usd']).toMatch(/^\d+\.\d+$/);
    expect(h!.headers.remove.sort()).toEqual(['openai-organization', 'x-ratelimit-remaining-requests']);
    expect(b!.kind).toBe('response_body');
    expect(b!.body!.streamed!.equals(CHAT_RESPONSE)).toBe(true);
    expect(b!.body!.endOfStream).toBe(true);
    expect(b!.metadata?.llm_gateway).toMatchObject({ tenant: 'duplex', model: 'gpt-4o-mini', input_tokens: 1900, output_tokens: 100 });
    peer.end();
  });

  it('a stream: headers answered at once, each chunk passed on as read, the usage chunk hidden', async () => {
    const peer = await forwarded(chat({ stream: true }));
    peer.send({ kind: 'response_headers', headers: { ':status': '200', 'content-type': 'text/event-stream' } });
    const [h] = await peer.next(1);
    expect(h!.kind).toBe('response_headers');
    const cut = STREAM_WITH_USAGE.indexOf('\n\n') + 2;
    peer.send({ kind: 'response_body', body: STREAM_WITH_USAGE.subarray(0, cut), endOfStream: false });
    const [first] = await peer.next(1);
    expect(first!.body!.streamed!.toString()).toBe(STREAM_WITH_USAGE.subarray(0, cut).toString());
    expect(first!.body!.endOfStream ?? false).toBe(false);
    peer.send({ kind: 'response_body', body: STREAM_WITH_USAGE.subarray(cut), endOfStream: true });
    const [last] = await peer.next(1);
    expect(last!.body!.endOfStream).toBe(true);
    expect(last!.body!.streamed!.toString()).not.toContain('"choices":[]');
    expect(last!.body!.streamed!.toString()).toContain('[DONE]');
    expect(last!.metadata?.llm_gateway).toMatchObject({ stream: true });
    peer.end();
  });

  it("a provider refusing the gateway's key becomes a 502 in the caller's API, its text not passed on", async () => {
    const peer = await forwarded();
    peer.send(
      { kind: 'response_headers', headers: { ':status': '401', 'content-type': 'application/json' } },
      { kind: 'response_body', body: ERROR_401, endOfStream: true },
    );
    const [h, b] = await peer.next(2);
    expect(h!.headers.set[':status']).toBe('502');
    const err = JSON.parse(b!.body!.streamed!.toString()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('upstream_auth_failed');
    expect(b!.body!.streamed!.toString()).not.toContain(ERROR_401.toString().slice(0, 40));
    peer.end();
  });

  it("a translated whole answer is rebuilt in the caller's API", async () => {
    const peer = await forwarded(chat({ model: 'claude-haiku-4-5' }));
    peer.send(
      { kind: 'response_headers', headers: { ':status': '200', 'content-type': 'application/json' } },
      { kind: 'response_body', body: ANTHROPIC_RESPONSE, endOfStream: true },
    );
    const [h, b] = await peer.next(2);
    expect(h!.headers.set['content-type']).toBe('application/json');
    const out = JSON.parse(b!.body!.streamed!.toString()) as { object: string; model: string };
    expect(out.object).toBe('chat.completion');
    expect(out.model).toBe('claude-haiku-4-5');
    peer.end();
  });

  it('a stream the client cuts off is metered as aborted', async () => {
    const before = (await metrics()).match(/^llm_gateway_streams_aborted_total\{[^}]*tenant="duplex"[^}]*\} (\d+)/m)?.[1] ?? '0';
    const peer = await forwarded(chat({ stream: true }));
    peer.send({ kind: 'response_headers', headers: { ':status': '200', 'content-type': 'text/event-stream' } });
    await peer.next(1);
    peer.send({ kind: 'response_body', body: STREAM_WITH_USAGE.subarray(0, 40), endOfStream: false });
    await peer.next(1);
    peer.reset();
    const deadline = Date.now() + 3000;
    let after = before;
    while (after === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      after = (await metrics()).match(/^llm_gateway_streams_aborted_total\{[^}]*tenant="duplex"[^}]*\} (\d+)/m)?.[1] ?? '0';
    }
    expect(Number(after)).toBe(Number(before) + 1);
  });
});

describe('a stream posing as a fallback attempt', () => {
  const HOST_METADATA = 'filter_metadata { key: "llm_gateway" value { fields { key: "backend" value { string_value: "gpt-4o-mini" } } } }';
  const attempt = (route?: string): PeerRequest => ({
    kind: 'request_headers',
    protocol: GATEWAY_PROTOCOL,
    headers: { ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json' },
    attributes: { 'envoy.filters.http.ext_proc': { 'xds.upstream_host_metadata': HOST_METADATA } },
    ...(route === undefined ? {} : { metadata: { llm_gateway: { route } } }),
  });
  const forged = (fields: Record<string, unknown>) => {
    const payload = Buffer.from(
      JSON.stringify({
        rid: 'x',
        caller: 'openai',
        model: 'gpt-4o-mini',
        stream: false,
        includeUsage: false,
        tenant: 'duplex',
        members: ['gpt-4o-mini'],
        exp: Date.now() + 60_000,
        ...fields,
      }),
    ).toString('base64url');
    return `${payload}.${Buffer.alloc(32, 7).toString('base64url')}`;
  };

  it('gets a refusal and no provider credential, without a signed routing context or with a forged one', async () => {
    for (const route of [undefined, 'not-a-context', forged({})]) {
      const peer = new EnvoyPeer(session);
      const body = chat();
      peer.send(attempt(route), { kind: 'request_body', body, endOfStream: true });
      const [r] = await peer.next(1);
      expect(r!.kind).toBe('immediate');
      expect(r!.immediate!.status).toBe(403);
      expect(JSON.stringify(r)).not.toContain('test-provider-key');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(peer.received()).toBe(0);
      peer.end();
    }
  });
});

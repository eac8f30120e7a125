/**
 * Component tests: the real gRPC ext_proc server (started with `startGateway`), driven over a
 * real HTTP/2 connection with a grpc-js client the way Envoy drives it — one `Process` bidi stream
 * per HTTP exchange, one message per phase, each answered before the next is sent.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadExtProcProto } from '../../../protos/ext-proc.js';
import type { ExternalProcessorClient } from '../../../protos/generated/envoy/service/ext_proc/v3/ExternalProcessor.js';
import type { ProcessingRequest as ProcessingRequestIn } from '../../../protos/generated/envoy/service/ext_proc/v3/ProcessingRequest.js';
import type { ProcessingResponse__Output } from '../../../protos/generated/envoy/service/ext_proc/v3/ProcessingResponse.js';
import type { CommonResponse__Output } from '../../../protos/generated/envoy/service/ext_proc/v3/CommonResponse.js';
import type { HeaderMutation__Output } from '../../../protos/generated/envoy/service/ext_proc/v3/HeaderMutation.js';
import type { Struct__Output } from '../../../protos/generated/google/protobuf/Struct.js';
import type { Value__Output } from '../../../protos/generated/google/protobuf/Value.js';
import { loadCatalog } from '../catalog/load.js';
import { readEnv } from '../config/env.js';
import { startGateway, type Gateway } from '../gateway.js';
import { service as healthService } from 'grpc-health-check';
import { EXT_PROC_SERVICE } from '../contract.js';

// ---- fixtures & constants ---------------------------------------------------------------------

const fixture = (name: string): Buffer => readFileSync(new URL(`../providers/openai/fixtures/${name}`, import.meta.url));
const CHAT_RESPONSE = fixture('chat-response.json');
const STREAM_WITH_USAGE = fixture('chat-stream-usage.sse');
const ERROR_401 = fixture('error-401.json');
const ERROR_429 = fixture('error-429.json');

const CATALOG = loadCatalog(fileURLToPath(new URL('../../../models/catalog.yaml', import.meta.url)));
const MINI = CATALOG.find('gpt-4o-mini')!;

const KEY_ACME = 'gw-key-acme-0001';
const KEY_METER = 'gw-key-meter-0002';
const KEY_ABORT = 'gw-key-abort-0003';
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const MB64 = 64 * 1024 * 1024;

const ENV: NodeJS.ProcessEnv = {
  GRPC_PORT: '0',
  METRICS_PORT: '0',
  GATEWAY_KEYS: `acme:${KEY_ACME},meter:${KEY_METER},abort:${KEY_ABORT}`,
  OPENAI_API_KEY: 'test-provider-key',
  GROQ_API_KEY: 'test-groq-key',
  OPENROUTER_API_KEY: 'test-openrouter-key',
  MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
  // These exchanges test the provider path; the cache has its own suite.
  CACHE_TTL_SECONDS: '0',
  LOG_LEVEL: 'silent',
};

const proto = loadExtProcProto();
const STATUS_BY_NAME = new Map(
  (proto.envoy.type.v3.StatusCode.type as { value: Array<{ name: string; number: number }> }).value.map((v) => [v.name, v.number]),
);

// ---- gateway & Envoy-like client --------------------------------------------------------------

async function start(extra: NodeJS.ProcessEnv = {}, log = pino({ level: 'silent' })): Promise<Gateway> {
  const env = { ...ENV, ...extra };
  return startGateway(readEnv(env), env, log);
}

/** The shared gateway's warnings and errors, as written, for tests about what reaches the log. */
const logLines: string[] = [];

function connect(port: number): ExternalProcessorClient {
  return new proto.envoy.service.ext_proc.v3.ExternalProcessor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MB64,
    'grpc.max_send_message_length': MB64,
  });
}

const headerMap = (h: Record<string, string>) => ({
  headers: Object.entries(h).map(([key, v]) => ({ key, raw_value: Buffer.from(v, 'utf8') })),
});

/** One HTTP exchange as Envoy streams it. */
class ExtProcStream {
  readonly call: grpc.ClientDuplexStream<ProcessingRequestIn, ProcessingResponse__Output>;
  private readonly queue: ProcessingResponse__Output[] = [];
  private waiters: Array<{ resolve: (r: ProcessingResponse__Output) => void; reject: (e: Error) => void }> = [];
  error: grpc.ServiceError | undefined;
  done = false;
  readonly ended: Promise<void>;

  constructor(client: ExternalProcessorClient) {
    this.call = client.Process();
    this.call.on('data', (r: ProcessingResponse__Output) => {
      const w = this.waiters.shift();
      if (w) w.resolve(r);
      else this.queue.push(r);
    });
    this.ended = new Promise<void>((resolve) => {
      this.call.on('error', (err: grpc.ServiceError) => {
        this.error = err;
        for (const w of this.waiters.splice(0)) w.reject(err);
        this.done = true;
        resolve();
      });
      this.call.on('status', () => {
        this.done = true;
        resolve();
      });
    });
  }

  send(req: ProcessingRequestIn): Promise<ProcessingResponse__Output> {
    const next = new Promise<ProcessingResponse__Output>((resolve, reject) => {
      const queued = this.queue.shift();
      if (queued) resolve(queued);
      else if (this.error) reject(this.error);
      else this.waiters.push({ resolve, reject });
    });
    this.call.write(req);
    return next;
  }

  requestHeaders(h: Record<string, string>, endOfStream = false) {
    return this.send({ request_headers: { headers: headerMap(h), end_of_stream: endOfStream } });
  }
  requestBody(body: Buffer | string, endOfStream = true) {
    return this.send({ request_body: { body: Buffer.from(body), end_of_stream: endOfStream } });
  }
  responseHeaders(h: Record<string, string>, endOfStream = false) {
    return this.send({ response_headers: { headers: headerMap(h), end_of_stream: endOfStream } });
  }
  responseBody(body: Buffer | string, endOfStream: boolean) {
    return this.send({ response_body: { body: Buffer.from(body), end_of_stream: endOfStream } });
  }

  /** Envoy half-closes the stream once the exchange is over. */
  async end(): Promise<void> {
    this.call.end();
    await this.ended;
  }
}

// ---- response readers ---------------------------------------------------------------------------

function setHeaders(m: HeaderMutation__Output | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of m?.set_headers ?? []) {
    if (!h.header?.key) continue;
    out[h.header.key] = h.header.raw_value && h.header.raw_value.length > 0 ? h.header.raw_value.toString('utf8') : (h.header.value ?? '');
  }
  return out;
}

function fromValue(v: Value__Output): unknown {
  switch (v.kind) {
    case 'stringValue':
      return v.stringValue;
    case 'numberValue':
      return v.numberValue;
    case 'boolValue':
      return v.boolValue;
    case 'nullValue':
      return null;
    case 'structValue':
      return fromStruct(v.structValue);
    case 'listValue':
      return (v.listValue?.values ?? []).map(fromValue);
    default:
      return undefined;
  }
}

function fromStruct(s: Struct__Output | undefined | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = fromValue(v);
  return out;
}

const gatewayMeta = (r: ProcessingResponse__Output) => fromStruct(r.dynamic_metadata).llm_gateway as Record<string, unknown> | undefined;

function common(r: ProcessingResponse__Output, phase: 'request_headers' | 'request_body' | 'response_headers' | 'response_body'): CommonResponse__Output {
  expect(r.response, `expected a ${phase} answer, got ${r.response}`).toBe(phase);
  const c = r[phase]?.response;
  expect(c).toBeDefined();
  expect(c!.status ?? 'CONTINUE').toBe('CONTINUE');
  return c!;
}

/** The replacement body of a mutation (fails the test when there is none). */
function mutatedBody(c: CommonResponse__Output): Buffer {
  expect(c.body_mutation?.mutation).toBe('body');
  const body = c.body_mutation?.body;
  expect(body).toBeDefined();
  return body!;
}

/** The bytes Envoy forwards for a body chunk: the replacement, nothing (clear_body) or the original. */
function forwardedBody(c: CommonResponse__Output, original: Buffer): Buffer {
  if (c.body_mutation?.mutation === 'body') return c.body_mutation.body ?? Buffer.alloc(0);
  if (c.body_mutation?.mutation === 'clear_body') return Buffer.alloc(0);
  return original;
}

interface Immediate {
  status: number;
  headers: Record<string, string>;
  body: { error: { message: string; type: string; param: string | null; code: string | null } } & Record<string, unknown>;
  raw: Buffer;
  details: string;
  meta: Record<string, unknown> | undefined;
}

function immediate(r: ProcessingResponse__Output): Immediate {
  expect(r.response).toBe('immediate_response');
  const ir = r.immediate_response!;
  const name = String(ir.status?.code);
  const status = STATUS_BY_NAME.get(name);
  expect(status, `status ${name}`).toBeDefined();
  return {
    status: status!,
    headers: setHeaders(ir.headers),
    body: JSON.parse((ir.body ?? Buffer.alloc(0)).toString('utf8')) as Immediate['body'],
    raw: ir.body ?? Buffer.alloc(0),
    details: ir.details ?? '',
    meta: gatewayMeta(r),
  };
}

function expectOpenAIError(body: unknown, expected: { type?: string; code?: string | null; param?: string | null } = {}) {
  expect(Object.keys(body as object)).toEqual(['error']);
  const e = (body as Immediate['body']).error;
  expect(Object.keys(e)).toEqual(['message', 'type', 'param', 'code']);
  expect(typeof e.message).toBe('string');
  expect(e.message.length).toBeGreaterThan(0);
  expect(e.message).not.toMatch(/\n\s+at /); // never a stack trace
  if (expected.type !== undefined) expect(e.type).toBe(expected.type);
  if (expected.code !== undefined) expect(e.code).toBe(expected.code);
  if (expected.param !== undefined) expect(e.param).toBe(expected.param);
}

// ---- request shapes -----------------------------------------------------------------------------

let ridCounter = 0;
const chatHeaders = (key: string | undefined, body: Buffer | string, extra: Record<string, string> = {}) => ({
  ':method': 'POST',
  ':path': '/v1/chat/completions',
  ':authority': 'gateway.local:10000',
  ':scheme': 'http',
  'content-type': 'application/json',
  'content-length': String(Buffer.byteLength(body)),
  'x-request-id': `rid-${++ridCounter}`,
  ...(key ? { authorization: `Bearer ${key}` } : {}),
  ...extra,
});

const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello!' }], ...extra });

/** Sends request headers and body for a valid chat call and returns both answers. */
async function sendChat(s: ExtProcStream, body: string, key = KEY_ACME, extraHeaders: Record<string, string> = {}) {
  const h = await s.requestHeaders(chatHeaders(key, body, extraHeaders));
  const b = await s.requestBody(body);
  return { h, b };
}

function splitAt(buf: Buffer, ...offsets: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let prev = 0;
  for (const o of [...offsets, buf.length]) {
    parts.push(buf.subarray(prev, o));
    prev = o;
  }
  return parts;
}

const STREAM_EXPECTED = Buffer.from(
  STREAM_WITH_USAGE.toString('utf8')
    .split('\n\n')
    .filter((ev) => !ev.includes('"choices":[]'))
    .join('\n\n'),
  'utf8',
);

/** Reference cost, computed independently of metering/cost.ts. */
function referenceCost(p: typeof MINI.pricing, input: number, output: number, cached: number): number {
  return ((input - cached) * p.inputPerMTok + cached * (p.cachedInputPerMTok ?? p.inputPerMTok) + output * p.outputPerMTok) / 1e6;
}

// ---- metrics text -------------------------------------------------------------------------------

function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const labelText = line.slice(name.length + 1, close);
    const got = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(close + 1).trim());
  }
  return undefined;
}

async function waitFor(cond: () => Promise<boolean> | boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

// =================================================================================================

let gateway: Gateway;
let client: ExternalProcessorClient;
const opened: ExtProcStream[] = [];
const open = () => {
  const s = new ExtProcStream(client);
  opened.push(s);
  return s;
};

// A test that fails half-way must not leave its exchange open for the next ones.
afterEach(() => {
  for (const s of opened.splice(0)) if (!s.done) s.call.cancel();
});

beforeAll(async () => {
  gateway = await start({}, pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) }));
  client = connect(gateway.grpcPort);
});

afterAll(async () => {
  client?.close();
  await gateway?.close(1000);
});

describe('startGateway', () => {
  it('binds ephemeral ports and enables only providers with credentials', () => {
    expect(gateway.grpcPort).toBeGreaterThan(0);
    expect(gateway.metricsPort).toBeGreaterThan(0);
    expect(gateway.providers.sort()).toEqual(['groq', 'openai', 'openrouter']);
  });
});

describe('health', () => {
  it('serves grpc.health.v1 Check as SERVING for the server and the ext_proc service', async () => {
    const Health = grpc.makeClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
    const h = new Health(`127.0.0.1:${gateway.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
    };
    try {
      const check = (service: string) =>
        new Promise<string | undefined>((resolve, reject) => h.Check({ service }, (err, res) => (err ? reject(err) : resolve(res?.status))));
      expect(await check('')).toBe('SERVING');
      expect(await check(EXT_PROC_SERVICE)).toBe('SERVING');
      await expect(check('no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      h.close();
    }
  });
});

describe('non-stream chat completion', () => {
  it('strips credentials and client x-gateway-* headers, routes, meters and reports cost', async () => {
    const s = open();
    const body = chatBody();
    const rid = 'req-happy-1';

    // request headers
    const h = await s.requestHeaders(
      chatHeaders(KEY_ACME, body, { 'x-request-id': rid, 'x-gateway-cluster': 'evil-cluster', 'x-gateway-tenant': 'someone-else', 'x-gateway-cost-usd': '0' }),
    );
    const hc = common(h, 'request_headers');
    const removed = hc.header_mutation?.remove_headers ?? [];
    expect(removed).toContain('authorization');
    expect(removed).toEqual(expect.arrayContaining(['x-gateway-cluster', 'x-gateway-tenant', 'x-gateway-cost-usd']));
    expect(setHeaders(hc.header_mutation)).toEqual({});
    expect(h.mode_override ?? undefined).toBeUndefined();

    // request body
    const b = await s.requestBody(body);
    const bc = common(b, 'request_body');
    const set = setHeaders(bc.header_mutation);
    expect(set['x-gateway-cluster']).toBe('openai');
    expect(set[':path']).toBe('/v1/chat/completions');
    expect(set[':authority']).toBe('api.openai.com');
    expect(set.authorization).toBe('Bearer test-provider-key');
    expect(set['content-length']).toBeUndefined();
    expect(bc.clear_route_cache).toBe(true);
    expect(bc.body_mutation ?? undefined).toBeUndefined();
    for (const opt of bc.header_mutation?.set_headers ?? []) expect(opt.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');

    // response headers
    const rh = await s.responseHeaders({
      ':status': '200',
      'content-type': 'application/json',
      'content-length': String(CHAT_RESPONSE.length),
      'x-ratelimit-remaining-requests': '9999',
      'x-ratelimit-limit-tokens': '200000',
      'openai-organization': 'org-secret',
      'openai-project': 'proj_secret',
      'set-cookie': '__cf_bm=abc',
      'openai-processing-ms': '312',
    });
    const rhc = common(rh, 'response_headers');
    expect(setHeaders(rhc.header_mutation)).toEqual({
      'x-gateway-request-id': rid,
      'x-gateway-cache': 'bypass',
      'x-gateway-model': 'gpt-4o-mini',
      'x-gateway-provider': 'openai',
      'x-gateway-attempts': '1',
      'x-gateway-route-reason': 'explicit',
      // The prompt-injection guard is on by default (monitor): its verdict rides every answer.
      'x-gateway-guard': 'clean',
      'x-gateway-guard-score': expect.stringMatching(/^0\.\d\d$/),
    });
    expect([...(rhc.header_mutation?.remove_headers ?? [])].sort()).toEqual(
      ['openai-organization', 'openai-project', 'set-cookie', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-requests'].sort(),
    );
    expect(rh.mode_override?.response_body_mode).toBe('BUFFERED');

    // response body
    const rb = await s.responseBody(CHAT_RESPONSE, true);
    const rbc = common(rb, 'response_body');
    expect(rbc.body_mutation ?? undefined).toBeUndefined();
    const expectedUsd = referenceCost(MINI.pricing, 1900, 100, 1024);
    const costHeader = setHeaders(rbc.header_mutation)['x-gateway-cost-usd'];
    expect(costHeader).toMatch(/^\d+\.\d+$/);
    expect(Number(costHeader)).toBeCloseTo(expectedUsd, 7);
    expect(gatewayMeta(rb)).toEqual({
      request_id: rid,
      cache: 'bypass',
      tenant: 'acme',
      key_id: expect.stringMatching(/^[0-9a-f]{12}$/),
      model: 'gpt-4o-mini',
      provider: 'openai',
      stream: false,
      input_tokens: 1900,
      output_tokens: 100,
      cached_input_tokens: 1024,
      cost_usd: expect.closeTo(expectedUsd, 7),
    });
    expect(gatewayMeta(rb)?.cost_usd).toBe(Number(costHeader));

    await s.end();
    expect(s.error).toBeUndefined();
  });

  it('also strips x-api-key, and a ?key= query never reaches the provider', async () => {
    const s = open();
    const body = chatBody();
    const h = await s.requestHeaders({ ...chatHeaders(undefined, body), ':path': `/v1/chat/completions?key=${KEY_ACME}` });
    expect(h.response).toBe('request_headers');
    const b = await s.requestBody(body);
    expect(setHeaders(common(b, 'request_body').header_mutation)[':path']).toBe('/v1/chat/completions');
    await s.end();

    const s2 = open();
    const h2 = await s2.requestHeaders({ ...chatHeaders(undefined, body), 'x-api-key': KEY_ACME });
    expect(common(h2, 'request_headers').header_mutation?.remove_headers).toEqual(expect.arrayContaining(['x-api-key', 'authorization', 'x-goog-api-key']));
    await s2.end();
  });

  it('generates a request id when Envoy sent none', async () => {
    const s = open();
    const body = chatBody();
    const headers: Record<string, string> = chatHeaders(KEY_ACME, body);
    delete headers['x-request-id'];
    await s.requestHeaders(headers);
    await s.requestBody(body);
    const rh = await s.responseHeaders({ ':status': '200', 'content-type': 'application/json' });
    expect(setHeaders(common(rh, 'response_headers').header_mutation)['x-gateway-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    await s.end();
  });

  it('a response body that is not JSON still completes (no cost header, no tokens)', async () => {
    const s = open();
    await sendChat(s, chatBody());
    await s.responseHeaders({ ':status': '200', 'content-type': 'application/json' });
    const rb = await s.responseBody('not json', true);
    const c = common(rb, 'response_body');
    expect(setHeaders(c.header_mutation)['x-gateway-cost-usd']).toBeUndefined();
    expect(gatewayMeta(rb)).toMatchObject({ tenant: 'acme', model: 'gpt-4o-mini' });
    expect(gatewayMeta(rb)?.input_tokens).toBeUndefined();
    await s.end();
  });
});

describe('streaming chat completion', () => {
  it('injects include_usage with a consistent content-length, hides the usage chunk, meters on the last chunk', async () => {
    const s = open();
    const body = chatBody({ stream: true, temperature: 0.7, some_future_param: { keep: ['me'] } });
    const { b } = await sendChat(s, body);
    const bc = common(b, 'request_body');
    const newBody = mutatedBody(bc);
    const parsed = JSON.parse(newBody.toString('utf8')) as Record<string, unknown>;
    expect(parsed).toEqual({ ...(JSON.parse(body) as object), stream_options: { include_usage: true } });
    const set = setHeaders(bc.header_mutation);
    expect(set['content-length']).toBe(String(newBody.length));
    expect(set['x-gateway-cluster']).toBe('openai');
    expect(bc.clear_route_cache).toBe(true);

    const rh = await s.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream; charset=utf-8' });
    expect(rh.mode_override?.response_body_mode).toBe('STREAMED');
    expect(setHeaders(common(rh, 'response_headers').header_mutation)['x-gateway-model']).toBe('gpt-4o-mini');

    const chunks = splitAt(STREAM_WITH_USAGE, 150, 151, 700, 1300);
    const forwarded: Buffer[] = [];
    for (const [i, chunk] of chunks.entries()) {
      const last = i === chunks.length - 1;
      const r = await s.responseBody(chunk, last);
      const c = common(r, 'response_body');
      forwarded.push(forwardedBody(c, chunk));
      expect(setHeaders(c.header_mutation)['x-gateway-cost-usd']).toBeUndefined(); // headers are long gone
      if (!last) expect(r.dynamic_metadata ?? undefined).toBeUndefined();
      else {
        const usd = referenceCost(MINI.pricing, 19, 10, 0);
        expect(gatewayMeta(r)).toMatchObject({ tenant: 'acme', model: 'gpt-4o-mini', stream: true, input_tokens: 19, output_tokens: 10 });
        expect(gatewayMeta(r)?.cost_usd).toBeCloseTo(usd, 7);
      }
    }
    expect(Buffer.concat(forwarded).toString('utf8')).toBe(STREAM_EXPECTED.toString('utf8'));
    await s.end();
  });

  it('keeps existing stream_options fields when injecting include_usage', async () => {
    const s = open();
    const { b } = await sendChat(s, chatBody({ stream: true, stream_options: { include_obfuscation: false } }));
    const parsed = JSON.parse(mutatedBody(common(b, 'request_body')).toString('utf8')) as { stream_options: unknown };
    expect(parsed.stream_options).toEqual({ include_obfuscation: false, include_usage: true });
    await s.end();
  });

  it('caller asked for include_usage: nothing injected, usage chunk kept, usage still metered', async () => {
    const s = open();
    const { b } = await sendChat(s, chatBody({ stream: true, stream_options: { include_usage: true } }));
    const bc = common(b, 'request_body');
    expect(bc.body_mutation ?? undefined).toBeUndefined();
    expect(setHeaders(bc.header_mutation)['content-length']).toBeUndefined();

    await s.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' });
    const chunks = splitAt(STREAM_WITH_USAGE, 400, 1000);
    const forwarded: Buffer[] = [];
    let last: ProcessingResponse__Output | undefined;
    for (const [i, chunk] of chunks.entries()) {
      last = await s.responseBody(chunk, i === chunks.length - 1);
      forwarded.push(forwardedBody(common(last, 'response_body'), chunk));
    }
    expect(Buffer.concat(forwarded).equals(STREAM_WITH_USAGE)).toBe(true);
    expect(gatewayMeta(last!)).toMatchObject({ input_tokens: 19, output_tokens: 10, stream: true });
    await s.end();
  });

  it('an empty final end_of_stream chunk carries the metadata', async () => {
    const s = open();
    await sendChat(s, chatBody({ stream: true }));
    await s.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' });
    const r1 = await s.responseBody(STREAM_WITH_USAGE, false);
    expect(forwardedBody(common(r1, 'response_body'), STREAM_WITH_USAGE).toString()).toBe(STREAM_EXPECTED.toString());
    const r2 = await s.responseBody(Buffer.alloc(0), true);
    expect(forwardedBody(common(r2, 'response_body'), Buffer.alloc(0)).length).toBe(0);
    expect(gatewayMeta(r2)).toMatchObject({ input_tokens: 19, output_tokens: 10 });
    await s.end();
  });
});

describe('model aliases and upstream ids', () => {
  it.each([
    ['gpt-oss-120b', 'groq/openai/gpt-oss-120b', 'openai/gpt-oss-120b', 'groq', '/openai/v1/chat/completions', 'api.groq.com', 'test-groq-key'],
    ['groq/openai/gpt-oss-20b', 'groq/openai/gpt-oss-20b', 'openai/gpt-oss-20b', 'groq', '/openai/v1/chat/completions', 'api.groq.com', 'test-groq-key'],
    [
      'openrouter/anthropic/claude-sonnet-4',
      'openrouter/anthropic/claude-sonnet-4',
      'anthropic/claude-sonnet-4',
      'openrouter',
      '/api/v1/chat/completions',
      'openrouter.ai',
      'test-openrouter-key',
    ],
  ])('%s → %s sent upstream as %s', async (asked, id, upstreamId, provider, path, authority, key) => {
    expect(CATALOG.find(asked)?.upstreamId).toBe(upstreamId);
    const s = open();
    const body = chatBody({ model: asked, max_tokens: 64 });
    const { b } = await sendChat(s, body);
    const bc = common(b, 'request_body');
    const set = setHeaders(bc.header_mutation);
    expect(set).toMatchObject({ 'x-gateway-cluster': provider, ':path': path, ':authority': authority, authorization: `Bearer ${key}` });
    const sent = mutatedBody(bc);
    expect(JSON.parse(sent.toString('utf8'))).toEqual({ ...(JSON.parse(body) as object), model: upstreamId });
    expect(set['content-length']).toBe(String(sent.length));

    const rh = await s.responseHeaders({ ':status': '200', 'content-type': 'application/json' });
    expect(setHeaders(common(rh, 'response_headers').header_mutation)).toMatchObject({ 'x-gateway-model': id, 'x-gateway-provider': provider });
    const rb = await s.responseBody(CHAT_RESPONSE, true);
    expect(gatewayMeta(rb)).toMatchObject({ model: id, provider });
    await s.end();
  });
});

describe('immediate responses', () => {
  it('missing key → 401', async () => {
    const s = open();
    const r = immediate(await s.requestHeaders(chatHeaders(undefined, chatBody(), { 'x-request-id': 'rid-nokey' })));
    expect(r.status).toBe(401);
    expectOpenAIError(r.body, { type: 'invalid_request_error' });
    expect(r.body.error.message).toMatch(/API key/);
    expect(r.headers['x-gateway-request-id']).toBe('rid-nokey');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-gateway-cache']).toBe('bypass');
    expect(r.details).toBe('llm_gateway_authentication');
    expect(r.meta).toMatchObject({ request_id: 'rid-nokey', error: 'authentication' });
    await s.end();
  });

  it('wrong key → 401 invalid_api_key, and the key is not echoed', async () => {
    const s = open();
    const r = immediate(await s.requestHeaders(chatHeaders('gw-key-wrong-9999', chatBody())));
    expect(r.status).toBe(401);
    expectOpenAIError(r.body, { type: 'invalid_request_error', code: 'invalid_api_key' });
    expect(r.raw.toString()).not.toContain('gw-key-wrong-9999');
    expect(r.headers['x-gateway-request-id']).toMatch(/^rid-/);
    await s.end();
  });

  it('unknown model → 404 model_not_found', async () => {
    const s = open();
    const body = chatBody({ model: 'gpt-9000' });
    await s.requestHeaders(chatHeaders(KEY_ACME, body, { 'x-request-id': 'rid-404' }));
    const r = immediate(await s.requestBody(body));
    expect(r.status).toBe(404);
    expectOpenAIError(r.body, { type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
    expect(r.body.error.message).toContain('gpt-9000');
    expect(r.headers['x-gateway-request-id']).toBe('rid-404');
    expect(r.meta).toMatchObject({ tenant: 'acme', error: 'model_not_found' });
    await s.end();
  });

  it('a model of a provider without credentials is not offered → 404', async () => {
    const s = open();
    const body = chatBody({ model: 'deepseek-chat' });
    await s.requestHeaders(chatHeaders(KEY_ACME, body));
    const r = immediate(await s.requestBody(body));
    expect(r.status).toBe(404);
    expectOpenAIError(r.body, { code: 'model_not_found' });
    await s.end();
  });

  it('invalid JSON → 400 invalid_json', async () => {
    const s = open();
    const body = '{"model": "gpt-4o-mini", "messages": [';
    await s.requestHeaders(chatHeaders(KEY_ACME, body));
    const r = immediate(await s.requestBody(body));
    expect(r.status).toBe(400);
    expectOpenAIError(r.body, { type: 'invalid_request_error', code: 'invalid_json' });
    expect(r.headers['x-gateway-request-id']).toMatch(/^rid-/);
    await s.end();
  });

  it('a schema violation → 400 naming the param', async () => {
    const s = open();
    const body = chatBody({ temperature: 3 });
    await s.requestHeaders(chatHeaders(KEY_ACME, body));
    const r = immediate(await s.requestBody(body));
    expect(r.status).toBe(400);
    expectOpenAIError(r.body, { type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' });
    await s.end();
  });

  it('an empty body (headers with end_of_stream) → 400', async () => {
    const s = open();
    const r = immediate(await s.requestHeaders(chatHeaders(KEY_ACME, ''), true));
    expect(r.status).toBe(400);
    expectOpenAIError(r.body, { type: 'invalid_request_error' });
    await s.end();
  });

  it('content-length over MAX_REQUEST_BYTES → 413 before the body is read', async () => {
    const s = open();
    const r = immediate(await s.requestHeaders({ ...chatHeaders(KEY_ACME, ''), 'content-length': String(MAX_REQUEST_BYTES + 1) }));
    expect(r.status).toBe(413);
    expectOpenAIError(r.body, { type: 'invalid_request_error', code: 'request_too_large' });
    expect(r.headers['x-gateway-request-id']).toMatch(/^rid-/);
    await s.end();
  });

  it('a chunked body over MAX_REQUEST_BYTES (no content-length) → 413', async () => {
    const s = open();
    const headers: Record<string, string> = { ...chatHeaders(KEY_ACME, ''), 'transfer-encoding': 'chunked' };
    delete headers['content-length'];
    await s.requestHeaders(headers);
    const r = immediate(await s.requestBody(Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x20)));
    expect(r.status).toBe(413);
    expectOpenAIError(r.body, { code: 'request_too_large' });
    await s.end();
  });

  it('GET /v1/models → 200 list with context_window and pricing on each entry', async () => {
    const s = open();
    const r = immediate(
      await s.requestHeaders(
        { ':method': 'GET', ':path': '/v1/models', ':authority': 'gw', authorization: `Bearer ${KEY_ACME}`, 'x-request-id': 'rid-models' },
        true,
      ),
    );
    expect(r.status).toBe(200);
    expect(r.headers['x-gateway-request-id']).toBe('rid-models');
    expect(r.headers['content-type']).toBe('application/json');
    const list = r.body as unknown as { object: string; data: Array<Record<string, unknown>> };
    expect(list.object).toBe('list');
    const expectedIds = CATALOG.models.filter((m) => ['openai', 'groq', 'openrouter'].includes(m.provider.id)).map((m) => m.id);
    expect(list.data.map((m) => m.id)).toEqual(expectedIds);
    for (const m of list.data) {
      const c = CATALOG.find(m.id as string)!;
      expect(m).toMatchObject({ object: 'model', owned_by: c.provider.id, context_window: c.contextWindow });
      expect(m.pricing).toMatchObject({ input_per_million: c.pricing.inputPerMTok, output_per_million: c.pricing.outputPerMTok, currency: 'USD' });
    }
    expect(r.meta).toMatchObject({ tenant: 'acme', request_id: 'rid-models' });
    await s.end();
  });

  it('GET /v1/models without a key → 401', async () => {
    const s = open();
    const r = immediate(await s.requestHeaders({ ':method': 'GET', ':path': '/v1/models', 'x-request-id': 'rid-m401' }, true));
    expect(r.status).toBe(401);
    expect(r.headers['x-gateway-request-id']).toBe('rid-m401');
    await s.end();
  });

  it('GET /v1/models/{id} → 200 one model; unknown id → 404', async () => {
    const s = open();
    const r = immediate(
      await s.requestHeaders({ ':method': 'GET', ':path': '/v1/models/groq/openai/gpt-oss-120b', authorization: `Bearer ${KEY_ACME}` }, true),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 'groq/openai/gpt-oss-120b', object: 'model', context_window: 131072 });
    await s.end();

    const s2 = open();
    const r2 = immediate(await s2.requestHeaders({ ':method': 'GET', ':path': '/v1/models/nope', authorization: `Bearer ${KEY_ACME}` }, true));
    expect(r2.status).toBe(404);
    expectOpenAIError(r2.body, { code: 'model_not_found' });
    expect(r2.headers['x-gateway-request-id']).toBeTruthy();
    await s2.end();
  });

  // BUG: detectEndpoint's decodeURIComponent throws URIError on a malformed escape and the
  // exchange answers 500 internal_error. A malformed path is the caller's fault: 400 or 404.
  it('GET /v1/models/<malformed %-escape> → a 4xx, not a 500', async () => {
    const s = open();
    const r = immediate(await s.requestHeaders({ ':method': 'GET', ':path': '/v1/models/%E0%A4%A', authorization: `Bearer ${KEY_ACME}` }, true));
    await s.end();
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expectOpenAIError(r.body);
  });

  it('unknown path → 404 unknown_url', async () => {
    const s = open();
    const r = immediate(
      await s.requestHeaders({ ':method': 'POST', ':path': '/v1/embeddings', authorization: `Bearer ${KEY_ACME}`, 'x-request-id': 'rid-url' }),
    );
    expect(r.status).toBe(404);
    expectOpenAIError(r.body, { type: 'invalid_request_error', code: 'unknown_url' });
    expect(r.body.error.message).toContain('/v1/embeddings');
    expect(r.headers['x-gateway-request-id']).toBe('rid-url');
    await s.end();
  });

  it('the wrong method on a known path → 404', async () => {
    const s = open();
    const r = immediate(await s.requestHeaders({ ':method': 'GET', ':path': '/v1/chat/completions', authorization: `Bearer ${KEY_ACME}` }, true));
    expect(r.status).toBe(404);
    await s.end();
  });
});

describe('upstream errors', () => {
  async function upstreamError(status: number, contentType: string, body: Buffer | string, extra: Record<string, string> = {}) {
    const s = open();
    await sendChat(s, chatBody(), KEY_ACME, { 'x-request-id': `rid-up-${status}` });
    const rh = await s.responseHeaders({ ':status': String(status), 'content-type': contentType, ...extra });
    const rhc = common(rh, 'response_headers');
    expect(rh.mode_override?.response_body_mode).toBe('BUFFERED');
    const rb = await s.responseBody(body, true);
    const c = common(rb, 'response_body');
    await s.end();
    return { rh: rhc, rb, c, set: setHeaders(c.header_mutation) };
  }

  it('a provider 401 becomes a 502 with an OpenAI error and none of the provider text', async () => {
    const { rh, rb, c, set } = await upstreamError(401, 'application/json', ERROR_401);
    expect(setHeaders(rh.header_mutation)['x-gateway-request-id']).toBe('rid-up-401');
    const out = mutatedBody(c);
    const text = out.toString('utf8');
    expectOpenAIError(JSON.parse(text), { type: 'server_error', code: 'upstream_auth_failed' });
    expect(text).not.toContain('sk-proj');
    expect(text).not.toContain('Incorrect API key');
    expect(text).not.toContain('test-provider-key');
    expect(set[':status']).toBe('502');
    expect(set['content-type']).toBe('application/json');
    expect(set['content-length']).toBe(String(out.length));
    expect(gatewayMeta(rb)).toMatchObject({ tenant: 'acme', model: 'gpt-4o-mini' });
    // The log says it happened, without the provider's text (it quotes the key's tail).
    const logged = logLines.filter((l) => l.includes('rid-up-401'));
    expect(logged.some((l) => l.includes('upstream error'))).toBe(true);
    for (const l of logged) {
      expect(l).not.toContain('wxyz');
      expect(l).not.toContain('Incorrect API key');
    }
  });

  it('a provider 403 is also a 502', async () => {
    const { set } = await upstreamError(
      403,
      'application/json',
      '{"error":{"message":"Project proj_x does not have access","type":"invalid_request_error","param":null,"code":null}}',
    );
    expect(set[':status']).toBe('502');
  });

  it("Envoy's plain-text 503 is wrapped into an OpenAI error, status kept", async () => {
    const text = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
    const { c, set } = await upstreamError(503, 'text/plain', text);
    const out = mutatedBody(c);
    const body = JSON.parse(out.toString('utf8')) as Immediate['body'];
    expectOpenAIError(body, { type: 'server_error', code: 'upstream_error' });
    expect(body.error.message).toContain('503');
    expect(set[':status']).toBe('503');
    expect(set['content-type']).toBe('application/json');
    expect(set['content-length']).toBe(String(out.length));
  });

  it('an empty-bodied 504 gets a JSON body too', async () => {
    const { c, set } = await upstreamError(504, 'text/plain', '');
    expectOpenAIError(JSON.parse(mutatedBody(c).toString('utf8')), { code: 'upstream_error' });
    expect(set[':status']).toBe('504');
  });

  it('an OpenAI-shaped 429 passes through unchanged (rate-limit headers of the platform account hidden)', async () => {
    const { rh, c } = await upstreamError(429, 'application/json', ERROR_429, { 'retry-after': '20', 'x-ratelimit-reset-requests': '20s' });
    expect(rh.header_mutation?.remove_headers).toEqual(['x-ratelimit-reset-requests']);
    expect(c.body_mutation ?? undefined).toBeUndefined();
    expect(c.header_mutation ?? undefined).toBeUndefined();
  });

  it('a bodiless upstream response (headers with end_of_stream) is metered at the headers', async () => {
    const s = open();
    await sendChat(s, chatBody({ stream: true }));
    const rh = await s.responseHeaders({ ':status': '204' }, true);
    expect(common(rh, 'response_headers')).toBeDefined();
    await s.end();
  });
});

describe('metrics', () => {
  it('token usage, cost and request counts per tenant/model appear in the registry', async () => {
    // One non-stream and one stream call for a tenant no other test uses.
    const s1 = open();
    await sendChat(s1, chatBody(), KEY_METER);
    await s1.responseHeaders({ ':status': '200', 'content-type': 'application/json' });
    await s1.responseBody(CHAT_RESPONSE, true);
    await s1.end();

    const s2 = open();
    await sendChat(s2, chatBody({ stream: true }), KEY_METER);
    await s2.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' });
    await s2.responseBody(STREAM_WITH_USAGE, true);
    await s2.end();

    const s3 = open();
    await s3.requestHeaders(chatHeaders('gw-key-unknown-1234', chatBody()));
    await s3.end();

    const text = await gateway.metrics.registry.metrics();
    const labels = { tenant: 'meter', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-4o-mini' };
    expect(metricValue(text, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'input', gen_ai_operation_name: 'chat' })).toBe(1900 + 19);
    expect(metricValue(text, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'output', gen_ai_operation_name: 'chat' })).toBe(100 + 10);
    expect(metricValue(text, 'gen_ai_client_token_usage_count', { ...labels, gen_ai_token_type: 'input' })).toBe(2);
    const usd = referenceCost(MINI.pricing, 1900, 100, 1024) + referenceCost(MINI.pricing, 19, 10, 0);
    expect(metricValue(text, 'llm_gateway_cost_usd_total', labels)).toBeCloseTo(usd, 7);
    expect(metricValue(text, 'llm_gateway_requests_total', { ...labels, status_code: '200' })).toBe(2);
    expect(metricValue(text, 'gen_ai_server_request_duration_seconds_count', { ...labels, error_type: '' })).toBe(2);
    expect(metricValue(text, 'gen_ai_server_time_to_first_token_seconds_count', labels)).toBe(1);
    expect(metricValue(text, 'llm_gateway_rejections_total', { reason: 'authentication', status_code: '401' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(KEY_METER);
  });

  it('the metrics HTTP server serves the same registry', async () => {
    const res = await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('llm_gateway_requests_total');
  });
});

describe('aborted streams', () => {
  const labels = { tenant: 'abort', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-4o-mini' };
  const aborted = async () => metricValue(await gateway.metrics.registry.metrics(), 'llm_gateway_streams_aborted_total', labels) ?? 0;
  const requests = async (status: string) =>
    metricValue(await gateway.metrics.registry.metrics(), 'llm_gateway_requests_total', { ...labels, status_code: status }) ?? 0;

  it('a stream cancelled mid-response is still recorded (aborted counter, request, usage seen so far)', async () => {
    const before = await aborted();
    const s = open();
    await sendChat(s, chatBody({ stream: true }), KEY_ABORT);
    await s.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' });
    // Usage chunk arrived but not the end of the stream.
    const cut = STREAM_WITH_USAGE.indexOf('data: [DONE]');
    await s.responseBody(STREAM_WITH_USAGE.subarray(0, cut), false);
    expect(gateway.inFlight()).toBeGreaterThanOrEqual(1);
    s.call.cancel();
    await s.ended;
    await waitFor(async () => (await aborted()) === before + 1);
    expect(await requests('aborted')).toBeGreaterThanOrEqual(1);
    const text = await gateway.metrics.registry.metrics();
    expect(metricValue(text, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'input' })).toBe(19);
    expect(metricValue(text, 'gen_ai_server_request_duration_seconds_count', { ...labels, error_type: 'aborted' })).toBe(1);
  });

  it('a stream the proxy half-closes before the response ends is also counted as aborted', async () => {
    const before = await aborted();
    const s = open();
    await sendChat(s, chatBody({ stream: true }), KEY_ABORT);
    await s.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' });
    await s.responseBody(STREAM_WITH_USAGE.subarray(0, 200), false);
    await s.end();
    await waitFor(async () => (await aborted()) === before + 1);
  });

  it('a completed exchange is not counted as aborted when the stream closes', async () => {
    const before = await aborted();
    const s = open();
    await sendChat(s, chatBody(), KEY_ABORT);
    await s.responseHeaders({ ':status': '200', 'content-type': 'application/json' });
    await s.responseBody(CHAT_RESPONSE, true);
    await s.end();
    await new Promise((r) => setTimeout(r, 50));
    expect(await aborted()).toBe(before);
  });

  it('an immediate rejection is not a provider call: nothing aborted when the stream closes', async () => {
    const before = await aborted();
    const s = open();
    const body = chatBody({ model: 'gpt-9000' });
    await s.requestHeaders(chatHeaders(KEY_ABORT, body));
    await s.requestBody(body);
    s.call.cancel();
    await s.ended;
    await new Promise((r) => setTimeout(r, 50));
    expect(await aborted()).toBe(before);
  });
});

describe('concurrency', () => {
  it('interleaved exchanges on one connection never mix state', async () => {
    const models = ['gpt-4o-mini', 'gpt-oss-120b', 'openrouter/google/gemini-2.5-flash', 'gpt-4.1-nano'];
    const pause = () => new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5)));
    const runOne = async (i: number) => {
      const model = models[i % models.length]!;
      const stream = i % 2 === 0;
      const rid = `rid-conc-${i}`;
      const s = open();
      await sendChat(s, chatBody({ model, stream }), i % 3 === 0 ? KEY_METER : KEY_ACME, { 'x-request-id': rid });
      await pause();
      const rh = await s.responseHeaders({ ':status': '200', 'content-type': stream ? 'text/event-stream' : 'application/json' });
      expect(rh.mode_override?.response_body_mode).toBe(stream ? 'STREAMED' : 'BUFFERED');
      expect(setHeaders(common(rh, 'response_headers').header_mutation)['x-gateway-request-id']).toBe(rid);
      await pause();
      let last: ProcessingResponse__Output;
      if (stream) {
        await s.responseBody(STREAM_WITH_USAGE.subarray(0, 500), false);
        await pause();
        last = await s.responseBody(STREAM_WITH_USAGE.subarray(500), true);
      } else {
        last = await s.responseBody(CHAT_RESPONSE, true);
      }
      await s.end();
      return { i, rid, model: CATALOG.find(model)!.id, stream, tenant: i % 3 === 0 ? 'meter' : 'acme', meta: gatewayMeta(last) };
    };
    await waitFor(() => gateway.inFlight() === 0);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => runOne(i)));
    for (const r of results) {
      expect(r.meta, `exchange ${r.i}`).toMatchObject({
        request_id: r.rid,
        model: r.model,
        tenant: r.tenant,
        stream: r.stream,
        input_tokens: r.stream ? 19 : 1900,
      });
    }
    expect(gateway.inFlight()).toBe(0);
  });
});

describe('large prompts', () => {
  it('an 8 MB prompt passes through the gRPC stream both ways (stream request: body re-serialised)', async () => {
    const prompt = 'x'.repeat(8 * 1024 * 1024);
    const s = open();
    const body = chatBody({ stream: true, messages: [{ role: 'user', content: prompt }] });
    const { h, b } = await sendChat(s, body);
    expect(h.response).toBe('request_headers');
    const bc = common(b, 'request_body');
    const out = mutatedBody(bc);
    expect(out.length).toBeGreaterThan(8 * 1024 * 1024);
    expect(setHeaders(bc.header_mutation)['content-length']).toBe(String(out.length));
    const parsed = JSON.parse(out.toString('utf8')) as { messages: Array<{ content: string }> };
    expect(parsed.messages[0]!.content.length).toBe(prompt.length);
    await s.end();
  });

  it('an 8 MB non-stream prompt is routed without a body mutation', async () => {
    const s = open();
    const body = chatBody({ messages: [{ role: 'user', content: 'é'.repeat(4 * 1024 * 1024) }] });
    expect(Buffer.byteLength(body)).toBeGreaterThan(8 * 1024 * 1024);
    const { b } = await sendChat(s, body);
    const bc = common(b, 'request_body');
    expect(bc.body_mutation ?? undefined).toBeUndefined();
    expect(setHeaders(bc.header_mutation)['x-gateway-cluster']).toBe('openai');
    await s.end();
  });
});

describe('graceful shutdown', () => {
  async function openStreamingExchange(c: ExternalProcessorClient) {
    const s = new ExtProcStream(c);
    await sendChat(s, chatBody({ stream: true }));
    await s.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' });
    await s.responseBody(STREAM_WITH_USAGE.subarray(0, 300), false);
    return s;
  }

  it('close(graceMs) waits for an in-flight stream to finish, then resolves', async () => {
    const gw = await start();
    const c = connect(gw.grpcPort);
    try {
      const s = await openStreamingExchange(c);
      expect(gw.inFlight()).toBe(1);

      let closed = false;
      const t0 = Date.now();
      const closing = gw.close(10_000).then(() => {
        closed = true;
      });
      await new Promise((r) => setTimeout(r, 150));
      expect(closed).toBe(false);

      // No new exchange is taken while draining.
      const late = connect(gw.grpcPort);
      const ls = new ExtProcStream(late);
      await expect(ls.requestHeaders(chatHeaders(KEY_ACME, chatBody()))).rejects.toBeDefined();
      late.close();

      // The exchange in flight keeps working during the drain.
      const r = await s.responseBody(STREAM_WITH_USAGE.subarray(300), true);
      expect(gatewayMeta(r)).toMatchObject({ input_tokens: 19, output_tokens: 10 });
      expect(closed).toBe(false);
      await s.end();
      expect(s.error).toBeUndefined();

      await closing;
      expect(closed).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(gw.inFlight()).toBe(0);
      const text = await gw.metrics.registry.metrics();
      expect(metricValue(text, 'llm_gateway_streams_aborted_total', { tenant: 'acme' }) ?? 0).toBe(0);
    } finally {
      c.close();
      await gw.close(0);
    }
  });

  it('close(graceMs) cuts a stream that does not finish in time, and the cut stream is metered as aborted', async () => {
    const gw = await start();
    const c = connect(gw.grpcPort);
    try {
      const s = await openStreamingExchange(c);
      const graceMs = 300;
      const t0 = Date.now();
      await gw.close(graceMs);
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(graceMs - 20);
      expect(elapsed).toBeLessThan(3_000);
      await s.ended;
      expect(s.error).toBeDefined();
      await waitFor(async () => (metricValue(await gw.metrics.registry.metrics(), 'llm_gateway_streams_aborted_total', { tenant: 'acme' }) ?? 0) === 1);
    } finally {
      c.close();
    }
  });

  it('an idle server closes immediately', async () => {
    const gw = await start();
    const t0 = Date.now();
    await gw.close(5_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});

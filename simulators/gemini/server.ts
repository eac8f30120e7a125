/**
 * Gemini-format provider simulator: stands in for generativelanguage.googleapis.com in tests,
 * benchmarks and demo mode. Routes (any path prefix, usually /v1beta):
 *
 *   POST  …/models/{model}:generateContent
 *   POST  …/models/{model}:streamGenerateContent?alt=sse   SSE, one GenerateContentResponse per event
 *   POST  …/models/{model}:streamGenerateContent           without alt=sse: one JSON array, streamed
 *   GET   …/models                                         model list
 *   GET   …/models/{model}                                 one model
 *   anything else                                          404 NOT_FOUND
 *
 * The key is read from `x-goog-api-key` or `?key=`. As the real API does, a wrong key is a 400
 * INVALID_ARGUMENT "API key not valid" and a missing one a 403 PERMISSION_DENIED.
 *
 * Answers follow plan.ts. In streams every chunk carries usageMetadata with the counts so far;
 * the last one carries the final counts and the finishReason.
 *
 * Test hooks (request headers), as in the OpenAI simulator:
 *   x-sim-fail: <status>    answer with that status and a Google error body
 *   x-sim-fail: hang        never answer
 *   x-sim-fail: reset       destroy the connection without answering
 *   x-sim-fail: midstream   start a 200 answer, send about half, destroy the connection
 *   x-sim-latency-ms: <n>   per-request override of `latencyMs`
 *
 * Order of checks: route (404) → API key → failure injection → validation (400) → answer.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiKeyInvalid, googleError, injectedErrorBody, missingApiKey, type GoogleErrorBody } from './errors.js';
import { planGemini, type GeminiPlan } from './plan.js';
import { validateGenerateContent } from './validate.js';

export { countPromptTokens, lastUserText, firstFunction, planGemini, SIM_TOOL_MARKER, TOOL_CALL_TOKENS } from './plan.js';
export type { GeminiPlan, TextPlan, ToolPlan } from './plan.js';
export { API_KEY_INVALID_MESSAGE } from './errors.js';
export type { GoogleErrorBody } from './errors.js';

export interface GeminiSimulatorOptions {
  /** Interface to bind (default '127.0.0.1'). */
  host?: string;
  /** Port to bind (default 0 = ephemeral). */
  port?: number;
  /** If set, requests must carry this key (`x-goog-api-key` or `?key=`). */
  apiKey?: string;
  /** Delay before the response starts (default 0). */
  latencyMs?: number;
  /** Streaming pace in output tokens per second; 0/undefined = as fast as possible. */
  tokensPerSecond?: number;
  /** Inject a failure every Nth request (counting all requests; 0 = never). */
  failEvery?: number;
  /** Status of injected `failEvery` failures (default 500). */
  failStatus?: number;
}

export interface GeminiSimulatorRequestRecord {
  method: string;
  /** Request target as received (path plus query string). */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; the raw text if it is not JSON; undefined if empty. */
  body: unknown;
  /** Tokens the simulator reports for its answer, set once it has decided what to answer. */
  usage?: { input: number; output: number };
}

export interface GeminiSimulator {
  /** Base URL without a path, e.g. http://127.0.0.1:40123 (the SDK's `httpOptions.baseUrl`). */
  url: string;
  port: number;
  /** The most recent requests (at most MAX_RECORDED_REQUESTS). */
  requests: GeminiSimulatorRequestRecord[];
  requestCount(): number;
  close(): Promise<void>;
}

export interface SimModel {
  id: string;
  displayName: string;
  inputTokenLimit: number;
  outputTokenLimit: number;
}

export const SIM_MODELS: readonly SimModel[] = [
  { id: 'gemini-2.5-pro', displayName: 'Gemini 2.5 Pro', inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: 'gemini-2.5-flash', displayName: 'Gemini 2.5 Flash', inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: 'gemini-2.5-flash-lite', displayName: 'Gemini 2.5 Flash-Lite', inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: 'gemini-2.0-flash', displayName: 'Gemini 2.0 Flash', inputTokenLimit: 1_048_576, outputTokenLimit: 8_192 },
];

export const MAX_RECORDED_REQUESTS = 1000;

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_LATENCY_MS = 10 * 60_000;
const GENERATE = /^(.*)\/models\/([^/:]+(?:\/[^/:]+)*):(generateContent|streamGenerateContent)$/;
const LIST = /^(.*)\/models$/;
const GET_ONE = /^(.*)\/models\/([^/:]+)$/;

function modelResource(m: SimModel) {
  return {
    name: `models/${m.id}`,
    version: '001',
    displayName: m.displayName,
    description: `${m.displayName} (simulated).`,
    inputTokenLimit: m.inputTokenLimit,
    outputTokenLimit: m.outputTokenLimit,
    supportedGenerationMethods: ['generateContent', 'countTokens'],
    temperature: 1,
    topP: 0.95,
    topK: 64,
    maxTemperature: 2,
  };
}

// ---------------------------------------------------------------------------
// Answers

function usageMetadata(promptTokens: number, outputTokens: number) {
  return {
    promptTokenCount: promptTokens,
    candidatesTokenCount: outputTokens,
    totalTokenCount: promptTokens + outputTokens,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }],
  };
}

function answerParts(plan: GeminiPlan): Array<Record<string, unknown>> {
  return plan.kind === 'tool' ? [{ functionCall: { name: plan.call.name, args: plan.call.args } }] : [{ text: plan.text }];
}

/** The chunks of a streamed answer: one per word (spaces kept), or one holding the whole call. */
export function streamChunks(plan: GeminiPlan, meta: { model: string; responseId: string }): Array<Record<string, unknown>> {
  const pieces: Array<{ parts: Array<Record<string, unknown>>; tokens: number }> =
    plan.kind === 'tool'
      ? [{ parts: answerParts(plan), tokens: plan.outputTokens }]
      : plan.words.length === 0
        ? [{ parts: [{ text: '' }], tokens: 0 }]
        : plan.words.map((w, i) => ({ parts: [{ text: i === 0 ? w : ` ${w}` }], tokens: i + 1 }));
  return pieces.map((p, i) => {
    const last = i === pieces.length - 1;
    return {
      candidates: [{ content: { parts: p.parts, role: 'model' }, ...(last ? { finishReason: plan.finishReason } : {}), index: 0 }],
      usageMetadata: usageMetadata(plan.promptTokens, p.tokens),
      modelVersion: meta.model,
      responseId: meta.responseId,
    };
  });
}

export function wholeAnswer(plan: GeminiPlan, meta: { model: string; responseId: string }): Record<string, unknown> {
  return {
    candidates: [{ content: { parts: answerParts(plan), role: 'model' }, finishReason: plan.finishReason, index: 0 }],
    usageMetadata: usageMetadata(plan.promptTokens, plan.outputTokens),
    modelVersion: meta.model,
    responseId: meta.responseId,
  };
}

// ---------------------------------------------------------------------------
// Per-request plumbing

interface ReqCtx {
  closed: boolean;
  timer: NodeJS.Timeout | undefined;
  wake: (() => void) | undefined;
}

function sleep(ctx: ReqCtx, ms: number): Promise<void> {
  if (ctx.closed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      ctx.timer = undefined;
      ctx.wake = undefined;
      resolve();
    };
    ctx.wake = done;
    ctx.timer = setTimeout(done, ms);
  });
}

function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

function waitDrain(ctx: ReqCtx, res: http.ServerResponse): Promise<void> {
  if (ctx.closed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      ctx.wake = undefined;
      res.off('drain', done);
      resolve();
    };
    ctx.wake = done;
    res.once('drain', done);
  });
}

type FailDirective = { kind: 'status'; status: number } | { kind: 'hang' | 'reset' | 'midstream' };

function parseFailHeader(v: string | undefined): FailDirective | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (s === 'hang' || s === 'reset' || s === 'midstream') return { kind: s };
  if (/^\d{3}$/.test(s)) {
    const status = Number(s);
    if (status >= 200 && status <= 599) return { kind: 'status', status };
  }
  return undefined;
}

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Server

export async function startGeminiSimulator(opts: GeminiSimulatorOptions = {}): Promise<GeminiSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const apiKey = opts.apiKey !== undefined && opts.apiKey !== '' ? opts.apiKey : undefined;
  const defaultLatency = Math.max(0, opts.latencyMs ?? 0);
  const tokensPerSecond = Math.max(0, opts.tokensPerSecond ?? 0);
  const failEvery = Math.max(0, Math.floor(opts.failEvery ?? 0));
  const failStatus = opts.failStatus ?? 500;

  const requests: GeminiSimulatorRequestRecord[] = [];
  let count = 0;
  const newResponseId = () => randomBytes(17).toString('base64url');

  function sendJson(res: http.ServerResponse, status: number, payload: unknown): void {
    if (res.destroyed || res.headersSent) return;
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  function writeHalfAndDestroy(res: http.ServerResponse, text: string): void {
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    setImmediate(() => res.destroy());
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, ctx: ReqCtx, seq: number, rawBody: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const url = new URL(target, 'http://sim.invalid');
    const path = url.pathname;

    let body: unknown = undefined;
    let jsonOk = false;
    if (rawBody !== null && rawBody.length > 0) {
      const text = rawBody.toString('utf8');
      try {
        body = JSON.parse(text);
        jsonOk = true;
      } catch {
        body = text;
      }
    }
    const record: GeminiSimulatorRequestRecord = { method, path: target, headers: req.headers, body };
    requests.push(record);
    if (requests.length > MAX_RECORDED_REQUESTS) requests.shift();

    let latency = defaultLatency;
    const latencyHeader = headerValue(req, 'x-sim-latency-ms');
    if (latencyHeader !== undefined) {
      const n = Number(latencyHeader);
      if (Number.isFinite(n) && n >= 0) latency = Math.min(n, MAX_LATENCY_MS);
    }
    const delay = async (): Promise<boolean> => {
      if (latency > 0) await sleep(ctx, latency);
      return !ctx.closed;
    };
    const fail = async (err: GoogleErrorBody): Promise<void> => {
      if (await delay()) sendJson(res, err.error.code, err);
    };

    if (rawBody === null) {
      await fail(googleError(400, 'INVALID_ARGUMENT', 'Request payload size exceeds the limit: 67108864 bytes.'));
      return;
    }

    type Route = { op: 'generate'; model: string; stream: boolean } | { op: 'list' } | { op: 'get'; model: string };
    let route: Route | undefined;
    const g = GENERATE.exec(path);
    const one = GET_ONE.exec(path);
    if (method === 'POST' && g) {
      const model = decodeSegment(g[2]!);
      if (model !== undefined) route = { op: 'generate', model, stream: g[3] === 'streamGenerateContent' };
    } else if (method === 'GET' && LIST.test(path)) route = { op: 'list' };
    else if (method === 'GET' && one) {
      const model = decodeSegment(one[2]!);
      if (model !== undefined) route = { op: 'get', model };
    }
    if (route === undefined) {
      await fail(googleError(404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`));
      return;
    }

    if (apiKey !== undefined) {
      const given = headerValue(req, 'x-goog-api-key') ?? url.searchParams.get('key') ?? '';
      if (given === '') {
        await fail(missingApiKey());
        return;
      }
      if (given !== apiKey) {
        await fail(apiKeyInvalid());
        return;
      }
    }

    let directive = parseFailHeader(headerValue(req, 'x-sim-fail'));
    if (directive === undefined && failEvery > 0 && seq % failEvery === 0) directive = { kind: 'status', status: failStatus };
    if (directive?.kind === 'hang') return; // answered never; the request stays open until the client leaves
    if (directive?.kind === 'reset') {
      if (await delay()) res.destroy();
      return;
    }
    if (directive?.kind === 'status') {
      await fail(injectedErrorBody(directive.status));
      return;
    }
    const midstream = directive?.kind === 'midstream';

    if (route.op === 'list' || route.op === 'get') {
      let payload: unknown;
      if (route.op === 'list') payload = { models: SIM_MODELS.map(modelResource) };
      else {
        const id = route.model;
        const m = SIM_MODELS.find((x) => x.id === id);
        if (!m) {
          await fail(googleError(404, 'NOT_FOUND', `models/${id} is not found for API version v1beta, or is not supported for generateContent.`));
          return;
        }
        payload = modelResource(m);
      }
      if (!(await delay())) return;
      if (midstream) writeHalfAndDestroy(res, JSON.stringify(payload));
      else sendJson(res, 200, payload);
      return;
    }

    if (!jsonOk) {
      await fail(googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unexpected token.'));
      return;
    }
    const invalid = validateGenerateContent(body);
    if (invalid) {
      await fail(invalid);
      return;
    }
    const plan = planGemini(body);
    record.usage = { input: plan.promptTokens, output: plan.outputTokens };
    if (!(await delay())) return;

    const meta = { model: route.model, responseId: newResponseId() };
    if (!route.stream) {
      const answer = wholeAnswer(plan, meta);
      if (midstream) writeHalfAndDestroy(res, JSON.stringify(answer));
      else sendJson(res, 200, answer);
      return;
    }
    await streamAnswer(res, ctx, streamChunks(plan, meta), url.searchParams.get('alt') === 'sse', midstream);
  }

  async function streamAnswer(res: http.ServerResponse, ctx: ReqCtx, chunks: Array<Record<string, unknown>>, sse: boolean, midstream: boolean): Promise<void> {
    res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json; charset=UTF-8', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const emit = async (data: string): Promise<boolean> => {
      if (ctx.closed) return false;
      if (!res.write(data)) await waitDrain(ctx, res);
      return !ctx.closed;
    };
    const cutAt = midstream ? Math.max(1, Math.floor(chunks.length / 2)) : -1;
    const t0 = Date.now();
    if (!sse && !(await emit('['))) return;
    for (let i = 0; i < chunks.length; i++) {
      if (i === cutAt) {
        res.destroy();
        return;
      }
      if (tokensPerSecond > 0) {
        const wait = t0 + ((i + 1) * 1000) / tokensPerSecond - Date.now();
        if (wait > 0) await sleep(ctx, wait);
        else await nextTurn();
      } else {
        await nextTurn();
      }
      const json = JSON.stringify(chunks[i]);
      // SSE events end with CRLF pairs, as Gemini's do; the array form puts each element on its own lines.
      if (!(await emit(sse ? `data: ${json}\r\n\r\n` : `${i > 0 ? '\r\n,' : ''}${json}`))) return;
    }
    if (midstream) {
      res.destroy();
      return;
    }
    if (!sse && !(await emit(']'))) return;
    res.end();
  }

  const server = http.createServer((req, res) => {
    const seq = ++count;
    const ctx: ReqCtx = { closed: false, timer: undefined, wake: undefined };
    res.once('close', () => {
      ctx.closed = true;
      if (ctx.timer !== undefined) clearTimeout(ctx.timer);
      ctx.wake?.();
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      if (tooLarge) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => {
      /* the client went away; 'close' on res cleans up */
    });
    req.on('end', () => {
      handle(req, res, ctx, seq, tooLarge ? null : Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) sendJson(res, 500, googleError(500, 'INTERNAL', `Simulator internal error: ${err instanceof Error ? err.message : String(err)}`));
        else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests,
    requestCount: () => count,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

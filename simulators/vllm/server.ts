/**
 * vLLM simulator: one vLLM OpenAI-compatible server on one GPU, with the queueing that makes
 * such an endpoint slow or full, so a pool picker can be tested and benchmarked against it.
 *
 * Routes:
 *
 *   POST /v1/chat/completions   chat, non-stream and SSE (vLLM's shapes, see render.ts)
 *   GET  /v1/models             the base model and the adapters (`parent` = base model)
 *   GET  /metrics               Prometheus text (see metrics.ts)
 *   GET  /health                200, empty body
 *   GET  /version               {"version": ...}
 *   anything else               404 {"detail":"Not Found"} (405 for a known path), as FastAPI
 *
 * Answers are deterministic (simulators/openai/completion.ts): the text, the token counts,
 * `[sim:tokens=N]` and `[sim:tool]` work as in the OpenAI simulator. `model` must be the base
 * model or an adapter from `loraModules`, else 404 `The model \`x\` does not exist.`.
 *
 * Timing of a chat (scheduler.ts decides when it may run):
 *
 *   arrival ─ queue wait ─ admitted ─ adapter load (if not resident) ─ prefill
 *           (promptTokens / prefillTokensPerSecond) ─ latencyMs ─ first token ─ one token every
 *           1 / tokensPerSecond ─ last token
 *
 * Each running sequence decodes at `tokensPerSecond` whatever else runs (no batching
 * slowdown), so concurrency only costs through the limits: slots, KV cache, adapters and the
 * queue. An adapter load holds its sequence's slot and cache but does not stall the others.
 * A stream's headers go out once the request is queued, as vLLM starts its streaming response
 * before the engine has produced anything; the chunks come with the tokens.
 *
 * The context length is the KV cache size: a prompt that does not fit, or a prompt plus
 * `max_tokens` that does not, is a 400; an answer that would overflow it is cut (`length`).
 *
 * Test hooks on /v1 routes (request headers), as in the OpenAI simulator:
 *   x-sim-fail: <status>     that status with a vLLM error body (429 adds retry-after: 1)
 *   x-sim-fail: hang         never answer (until the client or the simulator closes)
 *   x-sim-fail: reset        destroy the connection without answering
 *   x-sim-fail: midstream    send about half of a normal 200 answer, then destroy the connection
 *   x-sim-latency-ms: <n>    per-request override of `latencyMs`
 *   x-sim-wire: <fault>      spoil the answer on the wire (common/wire.ts): truncate, garbage,
 *                            html, mislabel, empty, slowloris, cut
 *   x-sim-only: <kinds>      the hooks above only for these simulators (common/faults.ts)
 * `failEvery` counts chat requests only, so metric scrapes do not shift it.
 *
 * Order of checks: route (404) → bearer key on /v1 (401, vLLM's `{"error":"Unauthorized"}`)
 * → failure injection → validation (400) → model (404) → context length (400) → queue (503).
 * Injected failures wait `latencyMs` first; the others answer at once.
 *
 * Only /v1 requests are recorded and counted; /metrics, /health and /version are not, so a
 * picker's polling does not show up as traffic (scrapeCount() counts the scrapes).
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseJsonBody } from '../common/body.js';
import { BASE_FAILURE_KINDS, injectFailure, pickFailure, retryAfterHeaders } from '../common/failures.js';
import { bearerToken, targetPath } from '../common/headers.js';
import { startHttpServer } from '../common/http.js';
import { requestLatency } from '../common/latency.js';
import { recordRequest, type RequestRecord } from '../common/records.js';
import { nextTurn, pause, sleepUntil, write } from '../common/request-context.js';
import { jsonResponder, startStream } from '../common/respond.js';
import { planCompletion, type CompletionPlan } from '../openai/completion.js';
import { validateChatRequest } from '../openai/server.js';
import { createEngineMetrics } from './metrics.js';
import { completionBody, DONE_EVENT, modelNotFound, modelsBody, streamEvents, usageEvent, vllmError, type ChatMeta, type VllmErrorBody } from './render.js';
import { Scheduler, type Grant } from './scheduler.js';

export interface VllmSimulatorOptions {
  /** Interface to bind (default '127.0.0.1'). */
  host?: string;
  /** Port to bind (default 0 = ephemeral). */
  port?: number;
  /** If set, /v1 requests need `Authorization: Bearer <apiKey>` (vLLM's --api-key). */
  apiKey?: string;
  /** Served base model name (default DEFAULT_MODEL). */
  model?: string;
  /** Sequences run at once (--max-num-seqs; default 4). */
  maxNumSeqs?: number;
  /** Waiting requests beyond which a new one gets 503 (default 256). */
  maxQueue?: number;
  /** Decode speed of each sequence; 0 = instant (default). */
  tokensPerSecond?: number;
  /** Prompt processing speed; 0 = instant (default). */
  prefillTokensPerSecond?: number;
  /** KV cache capacity in tokens, held by running sequences for prompt plus output (default 16384); also the context length. */
  kvCacheTokens?: number;
  /** Adapter names served as model names (--lora-modules). */
  loraModules?: string[];
  /** Adapters resident at once (--max-loras; default 1). */
  maxLoras?: number;
  /** Time to load an adapter that is not resident (default 150). */
  loraLoadMs?: number;
  /** Fixed extra delay before the first token (default 0). */
  latencyMs?: number;
  /** Inject a failure every Nth chat request (0 = never, default). */
  failEvery?: number;
  /** Status of injected `failEvery` failures (default 500). */
  failStatus?: number;
}

export interface VllmRequestRecord extends RequestRecord {
  /** Tokens of the answer, set once the request is queued; unset when it was refused. */
  usage?: { input: number; output: number };
  /** Milliseconds from arrival, filled in as the request gets there. */
  timing?: { queueMs?: number; ttftMs?: number; e2eMs?: number };
}

export interface VllmSimulator {
  /** Base URL without a path, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** The most recent /v1 requests (at most MAX_RECORDED_REQUESTS). */
  requests: VllmRequestRecord[];
  /** /v1 requests received since start. */
  requestCount(): number;
  /** GET /metrics requests received since start. */
  scrapeCount(): number;
  running(): number;
  waiting(): number;
  /** KV cache held by running sequences, 0..1. */
  kvCacheUsage(): number;
  /** Resident (or loading) adapters, least recently used first. */
  loadedAdapters(): string[];
  close(): Promise<void>;
}

export const DEFAULT_MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
export const SIM_VLLM_VERSION = '0.11.0';
export { MAX_RECORDED_REQUESTS } from '../common/records.js';

const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** SSE events written at once when many are due, so one write stays small. */
const MAX_EVENTS_PER_WRITE = 256;

const optionsSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(0),
    apiKey: z.string().optional(),
    model: z.string().min(1).default(DEFAULT_MODEL),
    maxNumSeqs: z.number().int().min(1).default(4),
    maxQueue: z.number().int().min(0).default(256),
    tokensPerSecond: z.number().min(0).finite().default(0),
    prefillTokensPerSecond: z.number().min(0).finite().default(0),
    kvCacheTokens: z.number().int().min(1).default(16_384),
    loraModules: z.array(z.string().min(1)).default([]),
    maxLoras: z.number().int().min(1).default(1),
    loraLoadMs: z.number().min(0).finite().default(150),
    latencyMs: z.number().min(0).finite().default(0),
    failEvery: z.number().int().min(0).default(0),
    failStatus: z.number().int().min(400).max(599).default(500),
  })
  .refine((o) => !o.loraModules.includes(o.model), { message: 'an adapter cannot have the base model name', path: ['loraModules'] });

function injectedMessage(status: number): string {
  if (status === 429) return 'Too many requests (simulated). Please retry later.';
  if (status >= 500) return `The engine failed to serve the request (simulated ${status}).`;
  return `Simulated error (status ${status}).`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const json = jsonResponder({ extraHeaders: 'after' });

/** The plan cut to `maxTokens` completion tokens, as the context length ends the answer. */
function cutPlan(plan: CompletionPlan, maxTokens: number): CompletionPlan {
  const words = plan.words.slice(0, maxTokens);
  return { ...plan, words, content: words.join(' '), completionTokens: words.length, finishReason: 'length' };
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
}

export async function startVllmSimulator(o: VllmSimulatorOptions = {}): Promise<VllmSimulator> {
  const opts = optionsSchema.parse(o);
  const failures = { every: opts.failEvery, status: opts.failStatus };
  const apiKey = opts.apiKey !== undefined && opts.apiKey !== '' ? opts.apiKey : undefined;
  const adapters = new Set(opts.loraModules);
  const maxModelLen = opts.kvCacheTokens;
  const scheduler = new Scheduler({
    maxNumSeqs: opts.maxNumSeqs,
    maxQueue: opts.maxQueue,
    kvCacheTokens: opts.kvCacheTokens,
    maxLoras: opts.maxLoras,
    loraLoadMs: opts.loraLoadMs,
  });
  const metrics = createEngineMetrics({ model: opts.model, maxLoras: adapters.size > 0 ? opts.maxLoras : undefined }, scheduler);

  const requests: VllmRequestRecord[] = [];
  let count = 0;
  let chatCount = 0;
  let scrapes = 0;
  const idPrefix = randomBytes(8).toString('hex');
  let idSeq = 0;
  const nextId = (): string => idPrefix + (++idSeq).toString(16).padStart(16, '0');
  const modelsCreated = Math.floor(Date.now() / 1000);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal, receivedAt: number, raw: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const path = targetPath(target);

    if (method === 'GET' && path === '/metrics') {
      scrapes++;
      const text = await metrics.render();
      if (!res.headersSent && !res.destroyed)
        res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': String(Buffer.byteLength(text)) }).end(text);
      return;
    }
    if (method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-length': '0' }).end();
      return;
    }
    if (method === 'GET' && path === '/version') {
      json.send(res, 200, { version: SIM_VLLM_VERSION });
      return;
    }

    const { body, jsonOk } = parseJsonBody(raw);
    count++;
    const record = recordRequest<VllmRequestRecord>(requests, { method, path: target, headers: req.headers, body });

    const known = path === '/v1/chat/completions' ? 'POST' : path === '/v1/models' ? 'GET' : undefined;
    if (known === undefined || known !== method) {
      json.send(res, known === undefined ? 404 : 405, { detail: known === undefined ? 'Not Found' : 'Method Not Allowed' });
      return;
    }
    const chat = known === 'POST';
    if (chat) chatCount++;

    if (apiKey !== undefined) {
      if (bearerToken(req) !== apiKey) {
        json.send(res, 401, { error: 'Unauthorized' });
        return;
      }
    }

    const latency = requestLatency(req, opts.latencyMs);

    // Only chats count towards failEvery, so metric scrapes and model lists do not shift it.
    const directive = pickFailure(req, BASE_FAILURE_KINDS, failures, chat ? chatCount : undefined);
    const delay = (): Promise<boolean> => pause(latency, signal);
    const injected = await injectFailure(directive, res, {
      delay,
      status: async (status) => {
        if (await delay()) json.send(res, status, vllmError(status, injectedMessage(status)), retryAfterHeaders(status));
      },
    });
    if (injected) return;
    const midstream = directive?.kind === 'midstream';

    if (!chat) {
      const payload = modelsBody(opts.model, opts.loraModules, maxModelLen, modelsCreated);
      if (midstream) json.sendHalf(res, payload);
      else json.send(res, 200, payload);
      return;
    }

    const fail = (status: number, err: VllmErrorBody): void => json.send(res, status, err);
    if (raw === null) return fail(413, vllmError(413, 'Request body too large.'));
    if (!jsonOk) return fail(400, vllmError(400, raw.length === 0 ? 'Field required: body' : 'JSON decode error: the request body is not valid JSON.'));
    const invalid = validateChatRequest(body);
    if (invalid !== null) return fail(400, vllmError(400, invalid.error.message, invalid.error.param));
    const request = body as Record<string, unknown> & { model: string; messages: unknown[] };
    if (request.model !== opts.model && !adapters.has(request.model)) return fail(404, modelNotFound(request.model));

    let plan = planCompletion(request);
    const maxTokens = positiveInt(request.max_completion_tokens) ?? positiveInt(request.max_tokens);
    const contextError = (requested: string): VllmErrorBody =>
      vllmError(
        400,
        `This model's maximum context length is ${maxModelLen} tokens. However, ${requested}. Please reduce the length of the messages or completion.`,
      );
    if (plan.promptTokens >= maxModelLen) return fail(400, contextError(`your request has ${plan.promptTokens} input tokens`));
    if (maxTokens !== undefined && plan.promptTokens + maxTokens > maxModelLen) {
      return fail(
        400,
        contextError(`you requested ${plan.promptTokens + maxTokens} tokens (${plan.promptTokens} in the messages, ${maxTokens} in the completion)`),
      );
    }
    if (plan.promptTokens + plan.completionTokens > maxModelLen) {
      if (plan.toolCall) return fail(400, contextError(`your request has ${plan.promptTokens} input tokens and leaves no room for the tool call`));
      plan = cutPlan(plan, maxModelLen - plan.promptTokens);
    }

    const adapter = request.model === opts.model ? undefined : request.model;
    const ticket = scheduler.submit({ kvTokens: plan.promptTokens + plan.completionTokens, adapter }, signal);
    if (ticket === 'busy') {
      return fail(
        503,
        vllmError(503, `The server is overloaded: ${scheduler.waiting()} requests are already waiting (max ${opts.maxQueue}). Please retry later.`),
      );
    }
    record.usage = { input: plan.promptTokens, output: plan.completionTokens };
    const stream = request.stream === true;
    if (stream) {
      startStream(res, 'text/event-stream; charset=utf-8');
    }
    const grant = await ticket.granted;
    if (grant === undefined) return;
    try {
      const id = nextId();
      const meta: ChatMeta = {
        id: `chatcmpl-${id}`,
        created: Math.floor(Date.now() / 1000),
        model: request.model,
        toolCallId: plan.toolCall ? `chatcmpl-tool-${id}` : '',
      };
      const includeUsage = isRecord(request.stream_options) && request.stream_options.include_usage === true;
      const answer = { res, signal, record, receivedAt, grant, latency, plan, meta, midstream };
      if (stream) await answerStream(answer, includeUsage);
      else await answerWhole(answer);
    } finally {
      grant.release();
    }
  }

  interface Answer {
    res: http.ServerResponse;
    signal: AbortSignal;
    record: VllmRequestRecord;
    receivedAt: number;
    grant: Grant;
    latency: number;
    plan: CompletionPlan;
    meta: ChatMeta;
    midstream: boolean;
  }

  /** When the first token is due and how far apart the rest come. */
  function timeline(a: Answer): { firstAt: number; stepMs: number } {
    const admittedAt = performance.now();
    a.record.timing = { queueMs: admittedAt - a.receivedAt };
    const prefillMs = opts.prefillTokensPerSecond > 0 ? (a.plan.promptTokens * 1000) / opts.prefillTokensPerSecond : 0;
    const firstAt = Math.max(admittedAt, a.grant.readyAt) + prefillMs + a.latency;
    return { firstAt, stepMs: opts.tokensPerSecond > 0 ? 1000 / opts.tokensPerSecond : 0 };
  }

  function firstToken(a: Answer): void {
    const ttftMs = performance.now() - a.receivedAt;
    if (a.record.timing) a.record.timing.ttftMs = ttftMs;
    metrics.prefilled(a.plan.promptTokens);
    metrics.firstToken(ttftMs / 1000);
  }

  function finished(a: Answer): void {
    const e2eMs = performance.now() - a.receivedAt;
    const timing = a.record.timing ?? {};
    timing.e2eMs = e2eMs;
    metrics.finished((timing.queueMs ?? 0) / 1000, e2eMs / 1000);
  }

  async function answerWhole(a: Answer): Promise<void> {
    const { firstAt, stepMs } = timeline(a);
    await sleepUntil(firstAt, a.signal);
    if (a.signal.aborted) return;
    firstToken(a);
    await sleepUntil(firstAt + Math.max(0, a.plan.completionTokens - 1) * stepMs, a.signal);
    if (a.signal.aborted) return;
    metrics.generated(a.plan.completionTokens);
    finished(a);
    const payload = completionBody(a.meta, a.plan);
    if (a.midstream) json.sendHalf(a.res, payload);
    else json.send(a.res, 200, payload);
  }

  async function answerStream(a: Answer, includeUsage: boolean): Promise<void> {
    const { firstAt, stepMs } = timeline(a);
    const events = streamEvents(a.meta, a.plan);
    const cutAt = a.midstream ? Math.max(1, Math.floor(events.length / 2)) : events.length + 1;
    let tokens = 0;
    let i = 0;
    while (i < events.length) {
      const next = events[i] as { token: number };
      await sleepUntil(firstAt + (next.token - 1) * stepMs, a.signal);
      if (a.signal.aborted) return;
      if (i === 0) firstToken(a);
      const due = stepMs > 0 ? Math.floor((performance.now() - firstAt) / stepMs) + 1 : Number.POSITIVE_INFINITY;
      let data = '';
      let j = i;
      while (j < events.length && j < cutAt && j - i < MAX_EVENTS_PER_WRITE) {
        const e = events[j] as { token: number; data: string };
        // The first event of a batch is always due: the sleep above waited for it.
        if (j > i && e.token > due) break;
        data += e.data;
        j++;
      }
      const reached = Math.min(a.plan.completionTokens, (events[j - 1] as { token: number }).token);
      if (reached > tokens) {
        metrics.generated(reached - tokens);
        tokens = reached;
      }
      if (j >= cutAt) {
        a.res.write(data);
        setImmediate(() => a.res.destroy());
        return;
      }
      if (!(await write(a.res, a.signal, data))) return;
      i = j;
      if (stepMs === 0 && i < events.length) await nextTurn();
    }
    finished(a);
    a.res.end((includeUsage ? usageEvent(a.meta, a.plan) : '') + DONE_EVENT);
  }

  const server = await startHttpServer({
    kind: 'vllm',
    host: opts.host,
    port: opts.port,
    maxBodyBytes: MAX_BODY_BYTES,
    onRequest: (req, res, signal) => {
      const receivedAt = performance.now();
      return (raw) => handle(req, res, signal, receivedAt, raw);
    },
    internalError: (res, message) => json.send(res, 500, vllmError(500, `Simulator internal error: ${message}`)),
  });

  return {
    url: server.url,
    port: server.port,
    requests,
    requestCount: () => count,
    scrapeCount: () => scrapes,
    running: () => scheduler.running(),
    waiting: () => scheduler.waiting(),
    kvCacheUsage: () => scheduler.kvUsage(),
    loadedAdapters: () => scheduler.loadedAdapters(),
    close: server.close,
  };
}

/**
 * Anthropic-format provider simulator: stands in for api.anthropic.com in tests, benchmarks
 * and demo mode. Routes are matched on the path suffix:
 *
 *   POST  ...\/messages          Messages (JSON, or SSE with `stream: true`)
 *   GET   ...\/models            model list (limit, after_id, before_id)
 *   GET   ...\/models/{id}       one model
 *   anything else                404 not_found_error
 *
 * Auth: `x-api-key: <apiKey>` (or `authorization: Bearer <apiKey>`, as newer SDKs send it);
 * every request needs an `anthropic-version` header.
 *
 * Answers are deterministic; see plan.ts.
 *
 * Test hooks (request headers):
 *   x-sim-fail: <status>    answer with that status and an Anthropic error body (429 also sets
 *                           `retry-after`; 529 is `overloaded_error`)
 *   x-sim-fail: hang        never answer; the request stays open until the client disconnects
 *   x-sim-fail: reset       destroy the connection without answering
 *   x-sim-fail: midstream   start a normal 200 answer, send about half of it, then destroy the connection
 *   x-sim-latency-ms: <n>   per-request override of `latencyMs`
 *   x-sim-wire: <fault>     spoil the answer on the wire (common/wire.ts): truncate, garbage,
 *                           html, mislabel, empty, slowloris, cut
 *   x-sim-only: <kinds>     the hooks above only for these simulators (common/faults.ts)
 *   x-sim-reject-key: 1     refuse the key sent (401 authentication_error), as for a wrong or revoked key
 *
 * Order of checks: route (404) -> x-api-key (401) -> anthropic-version (400) -> failure injection
 * -> request validation (400) -> answer. The latency delay applies before any response starts.
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseJsonBody } from '../common/body.js';
import { BASE_FAILURE_KINDS, injectFailure, pickFailure, retryAfterHeaders } from '../common/failures.js';
import { bearerToken, headerValue, rejectsCredential } from '../common/headers.js';
import { startHttpServer } from '../common/http.js';
import { requestLatency } from '../common/latency.js';
import { resolveOptions, type SimulatorOptions } from '../common/options.js';
import { recordRequest, type RequestRecord } from '../common/records.js';
import { nextTurn, pause, sleep, write } from '../common/request-context.js';
import { jsonResponder, startStream } from '../common/respond.js';
import { planMessage, splitPieces, wordChunks, type AnthropicPlan } from './plan.js';

export { countInputTokens, lastUserText, planMessage, SIM_TOOL_MARKER, TOOL_CALL_OUTPUT_TOKENS } from './plan.js';
export type { AnthropicPlan, AnthropicPlanInput } from './plan.js';

export { MAX_RECORDED_REQUESTS } from '../common/records.js';

export interface AnthropicSimulatorOptions extends SimulatorOptions {
  /** If set, requests must carry `x-api-key: <apiKey>`, else 401. */
  apiKey?: string;
}

export type AnthropicSimulatorRequestRecord = RequestRecord;

export interface AnthropicSimulator {
  /** Base URL without a path, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** The most recent received requests (at most MAX_RECORDED_REQUESTS). */
  requests: AnthropicSimulatorRequestRecord[];
  /** Total number of requests received since start. */
  requestCount(): number;
  close(): Promise<void>;
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
  request_id?: string;
}

export interface SimModel {
  id: string;
  display_name: string;
  created_at: string;
}

/** Models listed by GET .../models, newest first as the API lists them. */
export const SIM_MODELS: readonly SimModel[] = [
  { id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
  { id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
  { id: 'claude-opus-4-1-20250805', display_name: 'Claude Opus 4.1', created_at: '2025-08-05T00:00:00Z' },
  { id: 'claude-sonnet-4-20250514', display_name: 'Claude Sonnet 4', created_at: '2025-05-14T00:00:00Z' },
  { id: 'claude-3-7-sonnet-20250219', display_name: 'Claude Sonnet 3.7', created_at: '2025-02-19T00:00:00Z' },
  { id: 'claude-3-5-haiku-20241022', display_name: 'Claude Haiku 3.5', created_at: '2024-10-22T00:00:00Z' },
];

/**
 * `anthropic-version` values are release dates; the SDKs pin different ones (2023-06-01 in the
 * API reference, later dates in newer SDKs), so any well-formed date is accepted.
 */
export const VERSION_FORMAT = /^\d{4}-\d{2}-\d{2}$/;
/** Advertised per-minute limits in the anthropic-ratelimit-* headers. */
export const RATE_LIMIT_REQUESTS = 4_000;
export const RATE_LIMIT_INPUT_TOKENS = 2_000_000;
export const RATE_LIMIT_OUTPUT_TOKENS = 400_000;
/** The API's documented request size limit for Messages. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

const RATE_WINDOW_MS = 60_000;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Ids shaped like the API's: a prefix, `01`, then 22 base62 characters. */
export function simId(prefix: 'msg' | 'toolu' | 'req'): string {
  let s = '';
  for (const b of randomBytes(22)) s += ID_ALPHABET[b % ID_ALPHABET.length];
  return `${prefix}_01${s}`;
}

export function anthropicError(type: string, message: string, requestId?: string): AnthropicErrorBody {
  return { type: 'error', error: { type, message }, ...(requestId !== undefined ? { request_id: requestId } : {}) };
}

/** Error type and message for an injected failure with the given status. */
export function injectedError(status: number): { type: string; message: string } {
  switch (status) {
    case 400:
      return { type: 'invalid_request_error', message: 'Simulated bad request.' };
    case 401:
      return { type: 'authentication_error', message: 'invalid x-api-key' };
    case 403:
      return { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' };
    case 404:
      return { type: 'not_found_error', message: 'The requested resource could not be found.' };
    case 413:
      return { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' };
    case 429:
      return { type: 'rate_limit_error', message: 'Number of requests has exceeded your per-minute rate limit (simulated).' };
    case 500:
      return { type: 'api_error', message: 'Internal server error' };
    case 529:
      return { type: 'overloaded_error', message: 'Overloaded' };
    default:
      return status >= 500
        ? { type: 'api_error', message: `Simulated server error (status ${status}).` }
        : { type: 'invalid_request_error', message: `Simulated error (status ${status}).` };
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates the fields the simulator depends on, worded like the API (`<path>: <problem>`). */
export function validateMessagesBody(body: unknown): string | null {
  if (!isRecord(body)) return 'Input should be a valid dictionary';
  if (body.model === undefined) return 'model: Field required';
  if (typeof body.model !== 'string' || body.model === '') return 'model: Input should be a valid string';
  if (body.max_tokens === undefined) return 'max_tokens: Field required';
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) return 'max_tokens: Input should be a valid integer';
  if (body.max_tokens < 1) return 'max_tokens: Input should be greater than or equal to 1';
  if (body.messages === undefined) return 'messages: Field required';
  if (!Array.isArray(body.messages)) return 'messages: Input should be a valid list';
  if (body.messages.length === 0) return 'messages: at least one message is required';
  for (const [i, m] of body.messages.entries()) {
    if (!isRecord(m)) return `messages.${i}: Input should be a valid dictionary`;
    if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (m.content === undefined) return `messages.${i}.content: Field required`;
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) return `messages.${i}.content: Input should be a valid string or list`;
    const last = i === body.messages.length - 1;
    if (m.content.length === 0 && !(last && m.role === 'assistant')) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    }
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return 'stream: Input should be a valid boolean';
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) return 'system: Input should be a valid string or list';
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return 'tools: Input should be a valid list';
    for (const [i, t] of body.tools.entries()) {
      if (!isRecord(t) || typeof t.name !== 'string') return `tools.${i}.name: Field required`;
    }
  }
  return null;
}

function sse(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

// ---------------------------------------------------------------------------

export async function startAnthropicSimulator(opts: AnthropicSimulatorOptions = {}): Promise<AnthropicSimulator> {
  const { host, port, apiKey, latencyMs: defaultLatency, tokensPerSecond, failures } = resolveOptions(opts);

  const requests: AnthropicSimulatorRequestRecord[] = [];
  let count = 0;

  // A fixed one-minute window, only for the advertised rate-limit headers.
  let windowStart = Date.now();
  let windowRequests = 0;
  let windowInput = 0;
  let windowOutput = 0;

  function rateHeaders(input: number, output: number, exhausted: boolean): Record<string, string> {
    const now = Date.now();
    if (now - windowStart >= RATE_WINDOW_MS) {
      windowStart = now;
      windowRequests = 0;
      windowInput = 0;
      windowOutput = 0;
    }
    windowRequests++;
    windowInput += input;
    windowOutput += output;
    const reset = new Date(windowStart + RATE_WINDOW_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const remaining = (limit: number, used: number) => (exhausted ? '0' : String(Math.max(0, limit - used)));
    const tokenLimit = RATE_LIMIT_INPUT_TOKENS + RATE_LIMIT_OUTPUT_TOKENS;
    return {
      'anthropic-ratelimit-requests-limit': String(RATE_LIMIT_REQUESTS),
      'anthropic-ratelimit-requests-remaining': remaining(RATE_LIMIT_REQUESTS, windowRequests),
      'anthropic-ratelimit-requests-reset': reset,
      'anthropic-ratelimit-tokens-limit': String(tokenLimit),
      'anthropic-ratelimit-tokens-remaining': remaining(tokenLimit, windowInput + windowOutput),
      'anthropic-ratelimit-tokens-reset': reset,
      'anthropic-ratelimit-input-tokens-limit': String(RATE_LIMIT_INPUT_TOKENS),
      'anthropic-ratelimit-input-tokens-remaining': remaining(RATE_LIMIT_INPUT_TOKENS, windowInput),
      'anthropic-ratelimit-input-tokens-reset': reset,
      'anthropic-ratelimit-output-tokens-limit': String(RATE_LIMIT_OUTPUT_TOKENS),
      'anthropic-ratelimit-output-tokens-remaining': remaining(RATE_LIMIT_OUTPUT_TOKENS, windowOutput),
      'anthropic-ratelimit-output-tokens-reset': reset,
    };
  }

  const json = jsonResponder();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal, seq: number, rawBody: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q >= 0 ? target.slice(0, q) : target;
    const query = new URLSearchParams(q >= 0 ? target.slice(q + 1) : '');
    const requestId = simId('req');

    const { body, jsonOk } = parseJsonBody(rawBody);
    const record = recordRequest(requests, { method, path: target, headers: req.headers, body });

    const latency = requestLatency(req, defaultLatency);
    const delay = (): Promise<boolean> => pause(latency, signal);
    const headers = (input = 0, output = 0, exhausted = false): Record<string, string> => ({
      ...rateHeaders(input, output, exhausted),
      'request-id': requestId,
    });
    const fail = async (status: number, type: string, message: string, extra?: Record<string, string>): Promise<void> => {
      if (!(await delay())) return;
      json.send(res, status, anthropicError(type, message, requestId), { ...headers(0, 0, status === 429), ...extra });
    };

    if (rawBody === null) {
      await fail(413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.');
      return;
    }

    let route: { op: 'messages' } | { op: 'models' } | { op: 'model'; id: string } | undefined;
    const modelMatch = /\/models\/([^/]+)$/.exec(path);
    if (path.endsWith('/messages') && method === 'POST') route = { op: 'messages' };
    else if (path.endsWith('/models') && method === 'GET') route = { op: 'models' };
    else if (modelMatch && method === 'GET') route = { op: 'model', id: decodeURIComponent(modelMatch[1]!) };
    if (route === undefined) {
      await fail(404, 'not_found_error', `Not Found: ${method} ${path}`);
      return;
    }

    const rejectKey = rejectsCredential(req);
    if (apiKey !== undefined || rejectKey) {
      // The API reference authenticates with x-api-key; newer SDKs send the same key as a bearer token.
      const given = headerValue(req, 'x-api-key')?.trim() || bearerToken(req);
      if (given === '') {
        await fail(401, 'authentication_error', 'x-api-key header is required');
        return;
      }
      if (given !== apiKey || rejectKey) {
        await fail(401, 'authentication_error', 'invalid x-api-key');
        return;
      }
    }

    const version = headerValue(req, 'anthropic-version');
    if (version === undefined || version.trim() === '') {
      await fail(400, 'invalid_request_error', 'anthropic-version: header is required');
      return;
    }
    if (!VERSION_FORMAT.test(version.trim())) {
      await fail(400, 'invalid_request_error', `anthropic-version: invalid version ${JSON.stringify(version)}`);
      return;
    }

    const directive = pickFailure(req, BASE_FAILURE_KINDS, failures, seq);
    const injected = await injectFailure(directive, res, {
      delay,
      status: (status) => {
        const { type, message } = injectedError(status);
        return fail(status, type, message, retryAfterHeaders(status));
      },
    });
    if (injected) return;
    const midstream = directive?.kind === 'midstream';

    if (route.op !== 'messages') {
      let payload: unknown;
      if (route.op === 'model') {
        const id = route.id;
        payload = SIM_MODELS.find((m) => m.id === id);
        if (payload === undefined) {
          await fail(404, 'not_found_error', `model: ${id}`);
          return;
        }
        payload = { type: 'model', ...(payload as SimModel) };
      } else {
        payload = modelsPage(query);
      }
      if (!(await delay())) return;
      if (midstream) json.sendHalf(res, payload, headers());
      else json.send(res, 200, payload, headers());
      return;
    }

    if (!jsonOk) {
      await fail(400, 'invalid_request_error', 'There was an error parsing the body of your request. Please send a valid JSON body.');
      return;
    }
    const invalid = validateMessagesBody(body);
    if (invalid !== null) {
      await fail(400, 'invalid_request_error', invalid);
      return;
    }
    const request = body as { model: string; stream?: boolean; messages: unknown[]; max_tokens: number; system?: unknown; tools?: unknown };
    const plan = planMessage(request);
    record.usage = { input: plan.inputTokens, output: plan.outputTokens };
    if (!(await delay())) return;

    const meta = { id: simId('msg'), model: request.model, toolUseId: simId('toolu') };
    const h = headers(plan.inputTokens, plan.outputTokens);
    if (request.stream === true) {
      await streamMessage(res, signal, h, meta, plan, midstream);
      return;
    }
    const message = {
      id: meta.id,
      type: 'message',
      role: 'assistant',
      model: meta.model,
      content: plan.kind === 'text' ? [{ type: 'text', text: plan.text }] : [{ type: 'tool_use', id: meta.toolUseId, name: plan.toolName, input: plan.input }],
      stop_reason: plan.stopReason,
      stop_sequence: null,
      usage: { ...usageCounters(plan.inputTokens, plan.outputTokens), service_tier: 'standard' },
    };
    if (midstream) json.sendHalf(res, message, h);
    else json.send(res, 200, message, h);
  }

  async function streamMessage(
    res: http.ServerResponse,
    signal: AbortSignal,
    headers: Record<string, string>,
    meta: { id: string; model: string; toolUseId: string },
    plan: AnthropicPlan,
    midstream: boolean,
  ): Promise<void> {
    startStream(res, 'text/event-stream; charset=utf-8', headers);

    const emit = (data: string): Promise<boolean> => write(res, signal, data);

    // As the API does, message_start reports the input and a first output token; the final
    // cumulative counts come in message_delta.
    const start = sse('message_start', {
      type: 'message_start',
      message: {
        id: meta.id,
        type: 'message',
        role: 'assistant',
        model: meta.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usageCounters(plan.inputTokens, 1), service_tier: 'standard' },
      },
    });
    const block = plan.kind === 'text' ? { type: 'text', text: '' } : { type: 'tool_use', id: meta.toolUseId, name: plan.toolName, input: {} };
    if (!(await emit(start + sse('content_block_start', { type: 'content_block_start', index: 0, content_block: block }) + sse('ping', { type: 'ping' }))))
      return;

    // The API's first input_json_delta is empty; the JSON then follows in pieces.
    const deltas =
      plan.kind === 'text'
        ? wordChunks(plan.words).map((text) => ({ type: 'text_delta', text }))
        : ['', ...splitPieces(JSON.stringify(plan.input), 3)].map((partial_json) => ({ type: 'input_json_delta', partial_json }));
    const paced = tokensPerSecond > 0 && plan.kind === 'text';
    const cutAt = midstream ? Math.floor(deltas.length / 2) : -1;
    const t0 = Date.now();
    for (let i = 0; i < deltas.length; i++) {
      if (i === cutAt && i > 0) {
        res.destroy();
        return;
      }
      if (paced) {
        const wait = t0 + ((i + 1) * 1000) / tokensPerSecond - Date.now();
        if (wait > 0) await sleep(wait, signal);
        else await nextTurn();
      } else await nextTurn();
      if (!(await emit(sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: deltas[i]! })))) return;
    }
    if (midstream) {
      res.destroy();
      return;
    }
    await nextTurn();
    const end =
      sse('content_block_stop', { type: 'content_block_stop', index: 0 }) +
      sse('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: plan.stopReason, stop_sequence: null },
        usage: usageCounters(plan.inputTokens, plan.outputTokens),
      }) +
      sse('message_stop', { type: 'message_stop' });
    if (!(await emit(end))) return;
    res.end();
  }

  const server = await startHttpServer({
    kind: 'anthropic',
    host,
    port,
    maxBodyBytes: MAX_BODY_BYTES,
    onRequest: (req, res, signal) => {
      const seq = ++count;
      return (raw) => handle(req, res, signal, seq, raw);
    },
    internalError: (res, message) => json.send(res, 500, anthropicError('api_error', `Simulator internal error: ${message}`)),
  });
  return { url: server.url, port: server.port, requests, requestCount: () => count, close: server.close };
}

function usageCounters(input: number, output: number): Record<string, number> {
  return { input_tokens: input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: output };
}

/** One page of the model list, paged the way the API pages it (limit, after_id, before_id). */
export function modelsPage(query: URLSearchParams): Record<string, unknown> {
  const limitRaw = Number(query.get('limit') ?? '20');
  const limit = Number.isInteger(limitRaw) ? Math.min(1000, Math.max(1, limitRaw)) : 20;
  const after = query.get('after_id');
  const before = query.get('before_id');
  let start = 0;
  let end = SIM_MODELS.length;
  if (after !== null) start = SIM_MODELS.findIndex((m) => m.id === after) + 1;
  if (before !== null) {
    end = Math.max(
      0,
      SIM_MODELS.findIndex((m) => m.id === before),
    );
    start = Math.max(0, end - limit);
  }
  const page = SIM_MODELS.slice(start, Math.min(end, start + limit));
  return {
    data: page.map((m) => ({ type: 'model', ...m })),
    has_more: before !== null ? start > 0 : start + page.length < end,
    first_id: page[0]?.id ?? null,
    last_id: page[page.length - 1]?.id ?? null,
  };
}

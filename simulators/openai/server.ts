/**
 * OpenAI-format provider simulator.
 *
 * Stands in for api.openai.com and OpenAI-compatible providers (Groq at
 * /openai/v1, OpenRouter at /api/v1, DeepSeek at /v1 or /) in tests,
 * benchmarks and demo mode. Routes are matched on the path suffix:
 *
 *   POST  ...\/chat/completions   Chat Completions (non-stream and SSE stream)
 *   GET   ...\/models             model list
 *   anything else                 404 in OpenAI error format
 *
 * Response content and token accounting are deterministic; see completion.ts.
 * Streams carry one word (one token) per chunk; a tool call answer streams its
 * arguments in several tool_calls deltas. Each request record gets `usage`
 * (prompt and completion tokens) once the answer is decided.
 *
 * Test hooks (request headers):
 *   x-sim-fail: <status>    answer with that status and an OpenAI-style error
 *                           body (429 also sets `retry-after: 1`)
 *   x-sim-fail: hang        never answer; the request stays open until the
 *                           client disconnects (or the simulator is closed)
 *   x-sim-fail: reset       destroy the connection without answering
 *   x-sim-fail: midstream   start a normal 200 response, send about half of it,
 *                           then destroy the connection
 *   x-sim-latency-ms: <n>   per-request override of `latencyMs`
 *   x-sim-wire: <fault>     spoil the answer on the wire (common/wire.ts): truncate, garbage,
 *                           html, mislabel, empty, slowloris, cut
 *   x-sim-only: <kinds>     the hooks above only for these simulators (common/faults.ts)
 *   x-sim-reject-key: 1     refuse the credential sent (401 "Incorrect API key
 *                           provided: ****abcd"), as for a wrong or revoked key
 *
 * Order of checks: route (404) -> API key (401) -> failure injection
 * (x-sim-fail, failEvery) -> request validation (400) -> answer. The latency
 * delay applies before any response starts.
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseJsonBody } from '../common/body.js';
import { BASE_FAILURE_KINDS, injectFailure, pickFailure, retryAfterHeaders } from '../common/failures.js';
import { bearerToken, rejectsCredential, targetPath } from '../common/headers.js';
import { startHttpServer } from '../common/http.js';
import { requestLatency } from '../common/latency.js';
import { resolveOptions, type SimulatorOptions } from '../common/options.js';
import { recordRequest, type RequestRecord } from '../common/records.js';
import { nextTurn, pause, sleep, write } from '../common/request-context.js';
import { jsonResponder, startStream } from '../common/respond.js';
import { planCompletion, type CompletionPlan } from './completion.js';

export {
  countPromptTokens,
  planCompletion,
  lastUserText,
  echoFragment,
  responseWords,
  contentChars,
  contentText,
  requestedTokens,
  firstFunctionName,
  SIM_GREETING,
  SIM_TOOL_MARKER,
  TOOL_CALL_TOKENS,
  DEFAULT_COMPLETION_TOKENS,
  MAX_SIM_TOKENS,
  ECHO_CHARS,
} from './completion.js';
export type { CompletionPlan, FinishReason, PlanInput, PlannedToolCall } from './completion.js';

export { MAX_RECORDED_REQUESTS } from '../common/records.js';

export interface OpenAISimulatorOptions extends SimulatorOptions {
  /** If set, requests must carry `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** Streaming pace in completion tokens per second; 0/undefined = as fast as possible. */
  tokensPerSecond?: number;
}

/** `usage` holds the prompt and completion tokens. */
export type SimulatorRequestRecord = RequestRecord;

export interface OpenAISimulator {
  /** Base URL without a path, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** The most recent received requests (at most MAX_RECORDED_REQUESTS). */
  requests: SimulatorRequestRecord[];
  /** Total number of requests received since start. */
  requestCount(): number;
  close(): Promise<void>;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Model ids returned by GET .../models. */
export const SIM_MODELS: readonly string[] = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o3-mini', 'gpt-3.5-turbo'];

export const SYSTEM_FINGERPRINT = 'fp_sim0a1b2c3d';
/** Advertised limits in the x-ratelimit-* headers (per 60 s window). */
export const RATE_LIMIT_REQUESTS = 10_000;
export const RATE_LIMIT_TOKENS = 30_000_000;

const RATE_WINDOW_MS = 60_000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** A streamed tool call's arguments arrive in this many deltas (fewer only if shorter). */
const TOOL_ARGUMENT_PIECES = 4;

// ---------------------------------------------------------------------------
// Error bodies

export function openAIError(message: string, type: string, param: string | null = null, code: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/** Mask an API key for error messages: never reveals more than its last 4 characters. */
export function maskApiKey(key: string): string {
  const show = key.length >= 12 ? 4 : key.length >= 8 ? 2 : 0;
  const stars = Math.max(4, Math.min(key.length - show, 20));
  return '*'.repeat(stars) + key.slice(key.length - show);
}

/** Error body used for an injected failure with the given status. */
export function injectedErrorBody(status: number): OpenAIErrorBody {
  switch (status) {
    case 400:
      return openAIError('Simulated bad request.', 'invalid_request_error');
    case 401:
      return openAIError('Incorrect API key provided (simulated failure).', 'invalid_request_error', null, 'invalid_api_key');
    case 403:
      return openAIError('You are not allowed to access this resource (simulated failure).', 'invalid_request_error', null, 'permission_denied');
    case 404:
      return openAIError('The model does not exist or you do not have access to it (simulated failure).', 'invalid_request_error', null, 'model_not_found');
    case 429:
      return openAIError('Rate limit reached for requests (simulated). Please try again in 1s.', 'requests', null, 'rate_limit_exceeded');
    case 500:
      return openAIError('The server had an error while processing your request. Sorry about that!', 'server_error');
    case 502:
      return openAIError('Bad gateway.', 'server_error');
    case 503:
      return openAIError('The server is overloaded or not ready yet.', 'server_error');
    case 504:
      return openAIError('Gateway timeout.', 'server_error');
    default:
      return status >= 500
        ? openAIError(`Simulated server error (status ${status}).`, 'server_error')
        : openAIError(`Simulated error (status ${status}).`, 'invalid_request_error');
  }
}

const INVALID_JSON_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. " +
  'The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)';

const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
  '(i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.';

function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validate a chat completion request the way OpenAI does (subset). Returns an error body or null. */
export function validateChatRequest(body: unknown): OpenAIErrorBody | null {
  if (!isRecord(body)) {
    return openAIError(`Invalid type for root: expected an object, but got ${jsonTypeName(body)} instead.`, 'invalid_request_error');
  }
  if (typeof body.model !== 'string' || body.model === '') {
    return openAIError('you must provide a model parameter', 'invalid_request_error');
  }
  const messages = body.messages;
  if (messages === undefined || messages === null) {
    return openAIError("Missing required parameter: 'messages'.", 'invalid_request_error', 'messages');
  }
  if (!Array.isArray(messages)) {
    return openAIError(
      `Invalid type for 'messages': expected an array of objects, but got ${jsonTypeName(messages)} instead.`,
      'invalid_request_error',
      'messages',
    );
  }
  if (messages.length === 0) {
    return openAIError(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'invalid_request_error',
      'messages',
    );
  }
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isRecord(m)) {
      return openAIError(
        `Invalid type for 'messages[${i}]': expected an object, but got ${jsonTypeName(m)} instead.`,
        'invalid_request_error',
        `messages[${i}]`,
      );
    }
    if (typeof m.role !== 'string') {
      return openAIError(`Missing required parameter: 'messages[${i}].role'.`, 'invalid_request_error', `messages[${i}].role`);
    }
  }
  for (const name of ['max_tokens', 'max_completion_tokens'] as const) {
    const v = body[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      return openAIError(`Invalid type for '${name}': expected an integer, but got ${jsonTypeName(v)} instead.`, 'invalid_request_error', name);
    }
    if (v < 1) {
      return openAIError(`Invalid '${name}': integer below minimum value. Expected a value >= 1, but got ${v} instead.`, 'invalid_request_error', name);
    }
  }
  if (body.stream_options !== undefined && body.stream_options !== null && body.stream !== true) {
    return openAIError("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'invalid_request_error', 'stream_options');
  }
  return null;
}

// ---------------------------------------------------------------------------
// Small helpers

/** OpenAI-style duration string: "120ms", "8.64s", "6m0s". */
export function formatResetDuration(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  if (v < 1000) return `${v}ms`;
  if (v < 60_000) return `${Number((v / 1000).toFixed(3))}s`;
  const m = Math.floor(v / 60_000);
  const s = Number(((v % 60_000) / 1000).toFixed(3));
  return `${m}m${s}s`;
}

// ---------------------------------------------------------------------------
// Server

export async function startOpenAISimulator(opts: OpenAISimulatorOptions = {}): Promise<OpenAISimulator> {
  const { host, port, apiKey, latencyMs: defaultLatency, tokensPerSecond, failures } = resolveOptions(opts);

  const requests: SimulatorRequestRecord[] = [];
  let count = 0;

  // ids: random per-instance prefix + counter (cheap, unique).
  const reqIdPrefix = randomBytes(8).toString('hex');
  const cmplIdPrefix = randomBytes(12).toString('base64url').replace(/[-_]/g, 'x');
  const modelsCreated = Math.floor(Date.now() / 1000) - 86_400;

  // Fixed 60 s rate-limit window, only used for the advertised headers.
  let windowStart = Date.now();
  let windowRequests = 0;
  let windowTokens = 0;

  function rateHeaders(now: number, tokens: number, exhausted: boolean): Record<string, string> {
    if (now - windowStart >= RATE_WINDOW_MS) {
      windowStart = now;
      windowRequests = 0;
      windowTokens = 0;
    }
    windowRequests++;
    windowTokens += tokens;
    const reset = formatResetDuration(windowStart + RATE_WINDOW_MS - now);
    return {
      'x-ratelimit-limit-requests': String(RATE_LIMIT_REQUESTS),
      'x-ratelimit-remaining-requests': exhausted ? '0' : String(Math.max(0, RATE_LIMIT_REQUESTS - windowRequests)),
      'x-ratelimit-reset-requests': reset,
      'x-ratelimit-limit-tokens': String(RATE_LIMIT_TOKENS),
      'x-ratelimit-remaining-tokens': String(Math.max(0, RATE_LIMIT_TOKENS - windowTokens)),
      'x-ratelimit-reset-tokens': reset,
    };
  }

  function baseHeaders(seq: number, startedAt: number, tokens: number, exhausted = false): Record<string, string> {
    const now = Date.now();
    const h = rateHeaders(now, tokens, exhausted);
    h['x-request-id'] = `req_${reqIdPrefix}${seq.toString(16).padStart(16, '0')}`;
    h['openai-processing-ms'] = String(now - startedAt);
    h['openai-version'] = '2020-10-01';
    return h;
  }

  const json = jsonResponder();

  async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    signal: AbortSignal,
    seq: number,
    startedAt: number,
    rawBody: Buffer | null,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const path = targetPath(target);

    const { body, jsonOk } = parseJsonBody(rawBody);
    const record = recordRequest(requests, { method, path: target, headers: req.headers, body });

    const latency = requestLatency(req, defaultLatency);
    const delay = (): Promise<boolean> => pause(latency, signal);
    const fail = async (status: number, err: OpenAIErrorBody, extra?: Record<string, string>): Promise<void> => {
      if (!(await delay())) return;
      const h = baseHeaders(seq, startedAt, 0, status === 429);
      if (extra) Object.assign(h, extra);
      json.send(res, status, err, h);
    };

    if (rawBody === null) {
      await fail(413, openAIError('Request body too large.', 'invalid_request_error'));
      return;
    }

    // Route on path suffix.
    let route: 'chat' | 'models' | undefined;
    if (path.endsWith('/chat/completions')) route = method === 'POST' ? 'chat' : undefined;
    else if (path.endsWith('/models')) route = method === 'GET' ? 'models' : undefined;
    if (route === undefined) {
      await fail(404, openAIError(`Invalid URL (${method} ${path})`, 'invalid_request_error'));
      return;
    }

    // Auth (x-sim-reject-key: the key is refused whatever it is).
    const rejectKey = rejectsCredential(req);
    if (apiKey !== undefined || rejectKey) {
      const given = bearerToken(req);
      if (given === '') {
        await fail(401, openAIError(MISSING_KEY_MESSAGE, 'invalid_request_error', null, 'invalid_api_key'));
        return;
      }
      if (given !== apiKey || rejectKey) {
        await fail(
          401,
          openAIError(
            `Incorrect API key provided: ${maskApiKey(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
            'invalid_request_error',
            null,
            'invalid_api_key',
          ),
        );
        return;
      }
    }

    // Failure injection; midstream is left to the answer.
    const directive = pickFailure(req, BASE_FAILURE_KINDS, failures, seq);
    const injected = await injectFailure(directive, res, {
      delay,
      status: (st) => fail(st, injectedErrorBody(st), retryAfterHeaders(st)),
    });
    if (injected) return;
    const midstream = directive?.kind === 'midstream';

    if (route === 'models') {
      if (!(await delay())) return;
      const payload = {
        object: 'list',
        data: SIM_MODELS.map((id) => ({ id, object: 'model', created: modelsCreated, owned_by: 'system' })),
      };
      if (midstream) {
        json.sendHalf(res, payload, baseHeaders(seq, startedAt, 0));
        return;
      }
      json.send(res, 200, payload, baseHeaders(seq, startedAt, 0));
      return;
    }

    // Chat completions.
    if (!jsonOk) {
      await fail(400, openAIError(INVALID_JSON_MESSAGE, 'invalid_request_error'));
      return;
    }
    const invalid = validateChatRequest(body);
    if (invalid !== null) {
      await fail(400, invalid);
      return;
    }
    const chat = body as Record<string, unknown> & { model: string; messages: unknown[] };
    const plan = planCompletion(chat);
    record.usage = { input: plan.promptTokens, output: plan.completionTokens };
    const toolCallId = plan.toolCall ? newToolCallId() : '';
    if (!(await delay())) return;

    const id = `chatcmpl-${cmplIdPrefix}${seq.toString(36).padStart(8, '0')}`;
    const created = Math.floor(Date.now() / 1000);
    const headers = baseHeaders(seq, startedAt, plan.promptTokens + plan.completionTokens);

    if (chat.stream === true) {
      const so = chat.stream_options;
      const includeUsage = isRecord(so) && so.include_usage === true;
      await streamCompletion(res, signal, headers, { id, created, model: chat.model, toolCallId }, plan, includeUsage, midstream);
      return;
    }

    const payload = {
      id,
      object: 'chat.completion',
      created,
      model: chat.model,
      choices: [
        {
          index: 0,
          message: plan.toolCall
            ? {
                role: 'assistant',
                content: null,
                tool_calls: [{ id: toolCallId, type: 'function', function: { name: plan.toolCall.name, arguments: plan.toolCall.arguments } }],
                refusal: null,
              }
            : { role: 'assistant', content: plan.content, refusal: null },
          logprobs: null,
          finish_reason: plan.finishReason,
        },
      ],
      usage: usageObject(plan),
      service_tier: 'default',
      system_fingerprint: SYSTEM_FINGERPRINT,
    };
    if (midstream) {
      json.sendHalf(res, payload, headers);
      return;
    }
    json.send(res, 200, payload, headers);
  }

  async function streamCompletion(
    res: http.ServerResponse,
    signal: AbortSignal,
    headers: Record<string, string>,
    meta: { id: string; created: number; model: string; toolCallId: string },
    plan: CompletionPlan,
    includeUsage: boolean,
    midstream: boolean,
  ): Promise<void> {
    startStream(res, 'text/event-stream', headers);

    // Every chunk shares this prefix; choices are spliced in.
    const prefix =
      `data: {"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${meta.created},` +
      `"model":${JSON.stringify(meta.model)},"service_tier":"default","system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":`;
    const suffix = includeUsage ? ',"usage":null}\n\n' : '}\n\n';

    // Returns false if the stream is gone.
    const emit = (data: string): Promise<boolean> => write(res, signal, data);

    // As OpenAI does, a tool call answer announces the call (id, name, empty arguments) in the role chunk.
    const firstDelta = plan.toolCall
      ? JSON.stringify({
          role: 'assistant',
          content: null,
          tool_calls: [{ index: 0, id: meta.toolCallId, type: 'function', function: { name: plan.toolCall.name, arguments: '' } }],
          refusal: null,
        })
      : '{"role":"assistant","content":""}';
    if (!(await emit(`${prefix}[{"index":0,"delta":${firstDelta},"logprobs":null,"finish_reason":null}]${suffix}`))) {
      return;
    }

    // One delta per word (one token each), or the tool call's arguments in pieces.
    const deltas = plan.toolCall
      ? splitPieces(plan.toolCall.arguments, TOOL_ARGUMENT_PIECES).map((a) => JSON.stringify({ tool_calls: [{ index: 0, function: { arguments: a } }] }))
      : plan.words.map((w, i) => JSON.stringify({ content: i > 0 ? ` ${w}` : w }));
    // Completion tokens delivered once delta i is out, for pacing.
    const tokensAfter = (i: number): number => (plan.toolCall ? ((i + 1) * plan.completionTokens) / deltas.length : i + 1);
    const paced = tokensPerSecond > 0;
    const cutAt = midstream ? Math.floor(deltas.length / 2) : -1;
    const t0 = Date.now();
    for (let i = 0; i < deltas.length; i++) {
      if (i > 0 && i >= cutAt && cutAt >= 0) {
        res.destroy();
        return;
      }
      if (paced) {
        const due = t0 + (tokensAfter(i) * 1000) / tokensPerSecond;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait, signal);
        else await nextTurn(signal);
      } else {
        await nextTurn(signal);
      }
      if (signal.aborted) return;
      const choice = `[{"index":0,"delta":${deltas[i]},"logprobs":null,"finish_reason":null}]`;
      if (!(await emit(prefix + choice + suffix))) return;
    }
    if (midstream) {
      // Nothing (or almost nothing) to cut: drop the connection before finishing.
      res.destroy();
      return;
    }

    await nextTurn(signal);
    if (!(await emit(`${prefix}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${plan.finishReason}"}]${suffix}`))) {
      return;
    }
    if (includeUsage) {
      await nextTurn(signal);
      if (!(await emit(`${prefix}[],"usage":${JSON.stringify(usageObject(plan))}}\n\n`))) return;
    }
    await nextTurn(signal);
    if (!(await emit('data: [DONE]\n\n'))) return;
    res.end();
  }

  const server = await startHttpServer({
    kind: 'openai',
    host,
    port,
    maxBodyBytes: MAX_BODY_BYTES,
    onRequest: (req, res, signal) => {
      const startedAt = Date.now();
      const seq = ++count;
      return (raw) => handle(req, res, signal, seq, startedAt, raw);
    },
    internalError: (res, message) => json.send(res, 500, openAIError(`Simulator internal error: ${message}`, 'server_error')),
  });

  return { url: server.url, port: server.port, requests, requestCount: () => count, close: server.close };
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** An id shaped like OpenAI's tool call ids: `call_` and 24 letters and digits. */
function newToolCallId(): string {
  let id = 'call_';
  for (const b of randomBytes(24)) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}

/** Splits text into at most `n` pieces of about equal length, never inside a code point. */
export function splitPieces(text: string, n: number): string[] {
  const chars = Array.from(text);
  const size = Math.max(1, Math.ceil(chars.length / n));
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  return pieces;
}

function usageObject(plan: CompletionPlan): Record<string, unknown> {
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: plan.completionTokens,
    total_tokens: plan.promptTokens + plan.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/**
 * Ollama provider simulator: one Ollama server with a GPU's worth of concurrency.
 *
 * Routes (Ollama's native API):
 *
 *   POST /api/chat        chat; NDJSON stream unless `"stream": false` (Ollama streams by default)
 *   GET  /api/tags        local models
 *   GET  /api/version     server version
 *   GET|HEAD /            "Ollama is running"
 *   anything else         404 `404 page not found` (text, as Ollama's router answers)
 *
 * Ollama's OpenAI-compatible `/v1/chat/completions` is not simulated: the OpenAI simulator's
 * chat rendering is private to it, and tests of that API shape use the OpenAI simulator.
 *
 * Answers are deterministic (simulators/openai/completion.ts). Errors are `{"error": "..."}`;
 * an unknown model is 404 `model "x" not found, try pulling it first`.
 *
 * Scheduling: `parallel` chats generate at once; later ones wait in a FIFO queue (their time
 * to first token includes the wait); with `maxQueue` already waiting, a new chat gets 503
 * `server busy, please try again.  maximum pending requests exceeded`, as Ollama answers.
 *
 * Test hooks (request headers), as in the OpenAI simulator:
 *   x-sim-fail: <status>      that status with an Ollama error body (429 adds retry-after: 1)
 *   x-sim-fail: hang          never answer (until the client or the simulator closes)
 *   x-sim-fail: reset         destroy the connection without answering
 *   x-sim-fail: midstream     send about half of a normal 200 answer, then destroy the connection
 *   x-sim-fail: stream-error  stream about half, then Ollama's in-stream error line, then end
 *                             (non-stream: 500 with an error body once generated, as Ollama fails)
 *   x-sim-latency-ms: <n>     per-request override of `latencyMs`
 *   x-sim-wire: <fault>       spoil the answer on the wire (common/wire.ts): truncate, garbage,
 *                             html, mislabel, empty, slowloris, cut
 *   x-sim-only: <kinds>       the hooks above only for these simulators (common/faults.ts)
 *
 * Order of checks: route (404) → bearer key, if configured (401) → failure injection →
 * validation (400) → model (404) → queue (503) → latency → answer. Latency counts as model
 * load time: it is spent holding the slot.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { parseJsonBody } from '../common/body.js';
import { BASE_FAILURE_KINDS, injectFailure, pickFailure, retryAfterHeaders } from '../common/failures.js';
import { bearerToken, targetPath } from '../common/headers.js';
import { startHttpServer } from '../common/http.js';
import { requestLatency } from '../common/latency.js';
import { resolveOptions, type SimulatorOptions } from '../common/options.js';
import { recordRequest, type RequestRecord } from '../common/records.js';
import { nextTurn, pause, sleepUntil, write } from '../common/request-context.js';
import { jsonResponder } from '../common/respond.js';
import type { CompletionPlan } from '../openai/completion.js';
import { chatResponse, chunkLine, doneLine, planOllamaChat, wordPieces, type ChatBody, type Metrics } from './chat.js';
import { SlotQueue } from './queue.js';

export interface OllamaSimulatorOptions extends SimulatorOptions {
  /** If set, requests need `Authorization: Bearer <apiKey>` (an authenticating proxy in front of Ollama). */
  apiKey?: string;
  /** Delay before an answer starts (default 0). */
  latencyMs?: number;
  /** Generation pace in tokens per second; 0/undefined = as fast as possible. */
  tokensPerSecond?: number;
  /** Chats generated at once (OLLAMA_NUM_PARALLEL; default 1). */
  parallel?: number;
  /** Chats allowed to wait for a slot (OLLAMA_MAX_QUEUE; default 512). */
  maxQueue?: number;
  /** Installed model names (default SIM_MODELS); a name without a tag means `:latest`. */
  models?: readonly string[];
}

export type OllamaSimulatorRequestRecord = RequestRecord;

export interface OllamaSimulator {
  /** Base URL without a path, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** The most recent received requests (at most MAX_RECORDED_REQUESTS). */
  requests: OllamaSimulatorRequestRecord[];
  /** Total number of requests received since start. */
  requestCount(): number;
  /** Chats holding a slot now. */
  inFlight(): number;
  /** Chats waiting for a slot now. */
  queued(): number;
  close(): Promise<void>;
}

export const SIM_VERSION = '0.12.6';
export const DEFAULT_PARALLEL = 1;
export const DEFAULT_MAX_QUEUE = 512;
export { MAX_RECORDED_REQUESTS } from '../common/records.js';
export const BUSY_MESSAGE = 'server busy, please try again.  maximum pending requests exceeded';
/** What Ollama reports when the model runner fails while generating. */
export const MODEL_ERROR_MESSAGE = 'an error was encountered while running the model: unexpected EOF';

/** Installed models (name, family, parameter size) listed by /api/tags. */
export const SIM_MODEL_DETAILS: ReadonlyArray<{ name: string; family: string; parameterSize: string }> = [
  { name: 'llama3.2:latest', family: 'llama', parameterSize: '3.2B' },
  { name: 'llama3.1:8b', family: 'llama', parameterSize: '8.0B' },
  { name: 'qwen3:8b', family: 'qwen3', parameterSize: '8.2B' },
  { name: 'mistral:latest', family: 'llama', parameterSize: '7.2B' },
  { name: 'gemma3:4b', family: 'gemma3', parameterSize: '4.3B' },
  { name: 'llava:latest', family: 'llama', parameterSize: '7B' },
];
export const SIM_MODELS: readonly string[] = SIM_MODEL_DETAILS.map((m) => m.name);

const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** `stream-error`: Ollama reports a failure while generating as an error line inside the stream. */
const FAILURE_KINDS = [...BASE_FAILURE_KINDS, 'stream-error'] as const;

/** `llama3.2` and `llama3.2:latest` are the same model to Ollama. */
export function canonicalModelName(name: string): string {
  const slash = name.lastIndexOf('/');
  return name.slice(slash + 1).includes(':') ? name : `${name}:latest`;
}

export function notFoundMessage(model: string): string {
  return `model "${model}" not found, try pulling it first`;
}

/** Error message of an injected failure with the given status. */
export function injectedErrorMessage(status: number, model?: string): string {
  switch (status) {
    case 400:
      return 'simulated bad request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return notFoundMessage(model ?? 'unknown');
    case 429:
      return 'too many requests (simulated)';
    case 500:
      return 'an error was encountered while running the model (simulated)';
    case 503:
      return BUSY_MESSAGE;
    default:
      return `simulated error (status ${status})`;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a chat body as far as Ollama does before it looks the model up; returns the error message or null. */
export function validateChatBody(body: unknown): string | null {
  if (!isRecord(body)) return 'invalid request: the body must be a JSON object';
  if (typeof body.model !== 'string' || body.model === '') return 'model is required';
  if (body.messages !== undefined && body.messages !== null && !Array.isArray(body.messages)) {
    return 'json: cannot unmarshal messages: expected an array';
  }
  for (const m of (body.messages as unknown[] | null | undefined) ?? []) {
    if (!isRecord(m) || typeof m.role !== 'string') return 'json: cannot unmarshal messages: each message needs a role';
    if (m.content !== undefined && m.content !== null && typeof m.content !== 'string') return 'json: cannot unmarshal messages: content must be a string';
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') return 'json: cannot unmarshal stream: expected a boolean';
  if (body.options !== undefined && body.options !== null && !isRecord(body.options)) return 'json: cannot unmarshal options: expected an object';
  return null;
}

const msToNs = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

function digestOf(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

export async function startOllamaSimulator(opts: OllamaSimulatorOptions = {}): Promise<OllamaSimulator> {
  const { host, port, apiKey, latencyMs: defaultLatency, tokensPerSecond, failures } = resolveOptions(opts);
  const queue = new SlotQueue(opts.parallel ?? DEFAULT_PARALLEL, opts.maxQueue ?? DEFAULT_MAX_QUEUE);
  const installed = (opts.models ?? SIM_MODELS).map(canonicalModelName);
  const installedSet = new Set(installed);
  const modifiedAt = new Date(Date.now() - 86_400_000).toISOString();

  const requests: OllamaSimulatorRequestRecord[] = [];
  let count = 0;

  const json = jsonResponder({ contentType: 'application/json; charset=utf-8', extraHeaders: 'after' });

  function sendText(res: http.ServerResponse, status: number, text: string): void {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  function tagsBody(): Record<string, unknown> {
    const details = new Map(SIM_MODEL_DETAILS.map((d) => [d.name, d]));
    return {
      models: installed.map((name) => {
        const d = details.get(name);
        const family = d?.family ?? 'llama';
        return {
          name,
          model: name,
          modified_at: modifiedAt,
          // A plausible Q4 file size, so size-aware clients see different models as different.
          size: 1_000_000_000 + (Number.parseInt(digestOf(name).slice(0, 6), 16) % 4_000_000_000),
          digest: digestOf(name),
          details: { parent_model: '', format: 'gguf', family, families: [family], parameter_size: d?.parameterSize ?? '7B', quantization_level: 'Q4_K_M' },
        };
      }),
    };
  }

  async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    signal: AbortSignal,
    seq: number,
    receivedAt: number,
    raw: Buffer | null,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const path = targetPath(target);

    const { body, jsonOk } = parseJsonBody(raw);
    const record = recordRequest(requests, { method, path: target, headers: req.headers, body });

    const latency = requestLatency(req, defaultLatency);
    const delay = (): Promise<boolean> => pause(latency, signal);
    const fail = async (status: number, message: string, extra?: Record<string, string>): Promise<void> => {
      if (await delay()) json.send(res, status, { error: message }, extra);
    };

    let route: 'chat' | 'tags' | 'version' | 'root' | undefined;
    if (path === '/api/chat' && method === 'POST') route = 'chat';
    else if (path === '/api/tags' && method === 'GET') route = 'tags';
    else if (path === '/api/version' && method === 'GET') route = 'version';
    else if (path === '/' && (method === 'GET' || method === 'HEAD')) route = 'root';
    if (route === undefined) {
      sendText(res, 404, '404 page not found');
      return;
    }
    if (route === 'root') {
      sendText(res, 200, 'Ollama is running');
      return;
    }

    if (apiKey !== undefined) {
      if (bearerToken(req) !== apiKey) {
        await fail(401, 'unauthorized');
        return;
      }
    }

    const directive = pickFailure(req, FAILURE_KINDS, failures, seq);
    const injected = await injectFailure(directive, res, {
      delay,
      status: (status) => {
        const model = isRecord(body) && typeof body.model === 'string' ? body.model : undefined;
        return fail(status, injectedErrorMessage(status, model), retryAfterHeaders(status));
      },
    });
    if (injected) return;
    const cut = directive?.kind === 'midstream' || directive?.kind === 'stream-error' ? directive.kind : undefined;

    if (route === 'version' || route === 'tags') {
      if (!(await delay())) return;
      const payload = route === 'version' ? { version: SIM_VERSION } : tagsBody();
      if (cut === 'midstream') json.sendHalf(res, payload);
      else json.send(res, 200, payload);
      return;
    }

    if (raw === null) {
      await fail(413, 'request body too large');
      return;
    }
    if (!jsonOk) {
      await fail(400, raw.length === 0 ? 'missing request body' : 'invalid character in request body: not valid JSON');
      return;
    }
    const invalid = validateChatBody(body);
    if (invalid !== null) {
      await fail(400, invalid);
      return;
    }
    const chat = body as ChatBody & { messages?: unknown[] | null };
    if (!installedSet.has(canonicalModelName(chat.model))) {
      await fail(404, notFoundMessage(chat.model));
      return;
    }

    const slot = await queue.acquire(signal);
    if (slot === 'aborted') return;
    if (slot === 'busy') {
      await fail(503, BUSY_MESSAGE);
      return;
    }
    try {
      const slotAt = performance.now();
      if (!(await delay())) return;
      const messages = chat.messages ?? [];
      // An empty conversation only loads the model, as in Ollama.
      if (messages.length === 0) {
        json.send(res, 200, {
          model: chat.model,
          created_at: new Date().toISOString(),
          message: { role: 'assistant', content: '' },
          done_reason: 'load',
          done: true,
        });
        return;
      }
      const plan = planOllamaChat({ ...chat, messages });
      record.usage = { input: plan.promptTokens, output: plan.completionTokens };
      const timing = { receivedAt, slotAt, latency };
      if (chat.stream === false) await answerWhole(res, signal, chat.model, plan, timing, cut);
      else await answerStream(res, signal, chat.model, plan, timing, cut);
    } finally {
      slot();
    }
  }

  interface Timing {
    receivedAt: number;
    slotAt: number;
    latency: number;
  }

  /** Time the answer takes to generate when paced; the work a stream spreads out, a whole answer waits for. */
  async function generate(signal: AbortSignal, tokens: number, startedAt: number, onToken?: (i: number) => Promise<boolean>): Promise<boolean> {
    for (let i = 0; i < tokens; i++) {
      if (tokensPerSecond > 0) await sleepUntil(startedAt + ((i + 1) * 1000) / tokensPerSecond, signal);
      else if (onToken) await nextTurn();
      if (signal.aborted) return false;
      if (onToken && !(await onToken(i))) return false;
    }
    return !signal.aborted;
  }

  function metrics(t: Timing, firstAt: number, endAt: number): Metrics {
    return {
      totalNs: msToNs(endAt - t.receivedAt),
      loadNs: msToNs(t.latency),
      promptEvalNs: msToNs(firstAt - t.slotAt - t.latency),
      evalNs: msToNs(endAt - firstAt),
    };
  }

  async function answerWhole(
    res: http.ServerResponse,
    signal: AbortSignal,
    model: string,
    plan: CompletionPlan,
    t: Timing,
    cut: string | undefined,
  ): Promise<void> {
    const firstAt = performance.now();
    if (!(await generate(signal, plan.completionTokens, firstAt))) return;
    if (cut === 'stream-error') {
      json.send(res, 500, { error: MODEL_ERROR_MESSAGE });
      return;
    }
    const payload = chatResponse(model, plan, metrics(t, firstAt, performance.now()));
    if (cut === 'midstream') json.sendHalf(res, payload);
    else json.send(res, 200, payload);
  }

  async function answerStream(
    res: http.ServerResponse,
    signal: AbortSignal,
    model: string,
    plan: CompletionPlan,
    t: Timing,
    cut: string | undefined,
  ): Promise<void> {
    // Ollama's stream head has no cache-control.
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
    const firstAt = performance.now();
    const messages: Array<Record<string, unknown>> = plan.toolCall
      ? [
          {
            role: 'assistant',
            content: '',
            tool_calls: [{ function: { name: plan.toolCall.name, arguments: JSON.parse(plan.toolCall.arguments) as unknown } }],
          },
        ]
      : wordPieces(plan).map((content) => ({ role: 'assistant', content }));
    const cutAt = cut !== undefined ? Math.floor(messages.length / 2) : -1;
    await generate(signal, messages.length, firstAt, async (i) => i !== cutAt && (await write(res, signal, chunkLine(model, messages[i]!))));
    if (signal.aborted) return;
    // Also when the answer was too short to cut inside it: the failure still happens before the end.
    if (cut === 'midstream') {
      res.destroy();
      return;
    }
    if (cut === 'stream-error') {
      if (await write(res, signal, `${JSON.stringify({ error: MODEL_ERROR_MESSAGE })}\n`)) res.end();
      return;
    }
    await nextTurn();
    if (await write(res, signal, doneLine(model, plan, metrics(t, firstAt, performance.now())))) res.end();
  }

  const server = await startHttpServer({
    kind: 'ollama',
    host,
    port,
    maxBodyBytes: MAX_BODY_BYTES,
    onRequest: (req, res, signal) => {
      const receivedAt = performance.now();
      const seq = ++count;
      return (raw) => handle(req, res, signal, seq, receivedAt, raw);
    },
    internalError: (res, message) => json.send(res, 500, { error: `simulator internal error: ${message}` }),
  });

  return {
    url: server.url,
    port: server.port,
    requests,
    requestCount: () => count,
    inFlight: () => queue.inFlight(),
    queued: () => queue.queued(),
    close: server.close,
  };
}

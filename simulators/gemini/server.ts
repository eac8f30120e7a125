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
 *   x-sim-wire: <fault>     spoil the answer on the wire (common/wire.ts): truncate, garbage,
 *                           html, mislabel, empty, slowloris, cut
 *   x-sim-only: <kinds>     the hooks above only for these simulators (common/faults.ts)
 *   x-sim-reject-key: 1     refuse the key sent (400 API_KEY_INVALID), as for a wrong or revoked key
 *
 * Order of checks: route (404) → API key → failure injection → validation (400) → answer.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { parseJsonBody } from '../common/body.js';
import { BASE_FAILURE_KINDS, injectFailure, pickFailure } from '../common/failures.js';
import { headerValue, rejectsCredential } from '../common/headers.js';
import { startHttpServer } from '../common/http.js';
import { requestLatency } from '../common/latency.js';
import { resolveOptions, type SimulatorOptions } from '../common/options.js';
import { recordRequest, type RequestRecord } from '../common/records.js';
import { nextTurn, pause, sleep, write } from '../common/request-context.js';
import { jsonResponder, startStream } from '../common/respond.js';
import { apiKeyInvalid, googleError, injectedErrorBody, missingApiKey, type GoogleErrorBody } from './errors.js';
import { planGemini, type GeminiPlan } from './plan.js';
import { validateGenerateContent } from './validate.js';

export { countPromptTokens, lastUserText, firstFunction, planGemini, SIM_TOOL_MARKER, TOOL_CALL_TOKENS } from './plan.js';
export type { GeminiPlan, TextPlan, ToolPlan } from './plan.js';
export { API_KEY_INVALID_MESSAGE } from './errors.js';
export type { GoogleErrorBody } from './errors.js';

export { MAX_RECORDED_REQUESTS } from '../common/records.js';

export interface GeminiSimulatorOptions extends SimulatorOptions {
  /** If set, requests must carry this key (`x-goog-api-key` or `?key=`). */
  apiKey?: string;
}

export type GeminiSimulatorRequestRecord = RequestRecord;

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

const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Gemini labels its JSON with an upper-case charset. */
const JSON_UTF8 = 'application/json; charset=UTF-8';
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
// Requests

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
  const { host, port, apiKey, latencyMs: defaultLatency, tokensPerSecond, failures } = resolveOptions(opts);

  const requests: GeminiSimulatorRequestRecord[] = [];
  let count = 0;
  const newResponseId = () => randomBytes(17).toString('base64url');

  const json = jsonResponder({ contentType: JSON_UTF8 });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal, seq: number, rawBody: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const url = new URL(target, 'http://sim.invalid');
    const path = url.pathname;

    const { body, jsonOk } = parseJsonBody(rawBody);
    const record = recordRequest(requests, { method, path: target, headers: req.headers, body });

    const latency = requestLatency(req, defaultLatency);
    const delay = (): Promise<boolean> => pause(latency, signal);
    const fail = async (err: GoogleErrorBody): Promise<void> => {
      if (await delay()) json.send(res, err.error.code, err);
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

    const rejectKey = rejectsCredential(req);
    if (apiKey !== undefined || rejectKey) {
      const given = headerValue(req, 'x-goog-api-key') ?? url.searchParams.get('key') ?? '';
      if (given === '') {
        await fail(missingApiKey());
        return;
      }
      if (given !== apiKey || rejectKey) {
        await fail(apiKeyInvalid());
        return;
      }
    }

    // Google sends no retry-after with a 429: the delay is in the body's RetryInfo.
    const directive = pickFailure(req, BASE_FAILURE_KINDS, failures, seq);
    if (await injectFailure(directive, res, { delay, status: (status) => fail(injectedErrorBody(status)) })) return;
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
      if (midstream) json.sendHalf(res, payload);
      else json.send(res, 200, payload);
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
      if (midstream) json.sendHalf(res, answer);
      else json.send(res, 200, answer);
      return;
    }
    await streamAnswer(res, signal, streamChunks(plan, meta), url.searchParams.get('alt') === 'sse', midstream);
  }

  async function streamAnswer(
    res: http.ServerResponse,
    signal: AbortSignal,
    chunks: Array<Record<string, unknown>>,
    sse: boolean,
    midstream: boolean,
  ): Promise<void> {
    startStream(res, sse ? 'text/event-stream' : JSON_UTF8);
    const emit = (data: string): Promise<boolean> => write(res, signal, data);
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
        if (wait > 0) await sleep(wait, signal);
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

  const server = await startHttpServer({
    kind: 'gemini',
    host,
    port,
    maxBodyBytes: MAX_BODY_BYTES,
    onRequest: (req, res, signal) => {
      const seq = ++count;
      return (raw) => handle(req, res, signal, seq, raw);
    },
    internalError: (res, message) => json.send(res, 500, googleError(500, 'INTERNAL', `Simulator internal error: ${message}`)),
  });
  return { url: server.url, port: server.port, requests, requestCount: () => count, close: server.close };
}

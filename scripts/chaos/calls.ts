/**
 * One chat call in each caller API (OpenAI, Anthropic, Gemini, Ollama), sent with plain fetch so
 * every outcome can be told apart: the status, the error body and whether it is in the caller's
 * own API shape, a stream that ends without its terminal event, or a connection that fails.
 */

export type CallerApi = 'openai' | 'anthropic' | 'gemini' | 'ollama';
export const CALLER_APIS: readonly CallerApi[] = ['openai', 'anthropic', 'gemini', 'ollama'];

export interface CallSpec {
  api: CallerApi;
  model: string;
  stream: boolean;
  /** Output tokens the simulators produce (`[sim:tokens=N]`). */
  tokens: number;
  /** Extra request headers (the simulators' fault hooks, `x-sim-*`). */
  headers?: Record<string, string>;
}

/** What one call came to. `ok` is a 200 with a whole, well-formed answer in the caller's API. */
export interface CallOutcome {
  ok: boolean;
  /** HTTP status; undefined when no response head arrived. */
  status: number | undefined;
  /** Error class, e.g. `503 gateway_unavailable`, `conn refused`, `200 stream incomplete`; `ok` for a success. */
  cls: string;
  /** The error's code in the caller's API (OpenAI `code`/`type`, Anthropic `error.type`, Google `status`). */
  code?: string;
  /** Whether an error body is in the caller's own API error shape (undefined: no body to judge). */
  shapeOk?: boolean;
  requestId?: string;
  provider?: string;
  attempts?: string;
  /** A short excerpt of an unexpected body or the connection error. */
  detail?: string;
  /** Milliseconds from sending to the response head (undefined without one). */
  headMs?: number;
}

export interface SendOptions {
  baseUrl: string;
  key: string;
  /** The call is abandoned (class `timeout`) this long after it was sent. */
  timeoutMs: number;
  /** Distinguishes prompts (the response cache is off in the chaos stacks, but keep them unique anyway). */
  tag: string;
}

function request(o: SendOptions, spec: CallSpec): { url: string; headers: Record<string, string>; body: string } {
  const prompt = `chaos ${o.tag} [sim:tokens=${spec.tokens}]`;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...spec.headers };
  switch (spec.api) {
    case 'openai':
      headers.authorization = `Bearer ${o.key}`;
      return {
        url: `${o.baseUrl}/v1/chat/completions`,
        headers,
        body: JSON.stringify({ model: spec.model, stream: spec.stream, max_tokens: 256, messages: [{ role: 'user', content: prompt }] }),
      };
    case 'anthropic':
      headers['x-api-key'] = o.key;
      headers['anthropic-version'] = '2023-06-01';
      return {
        url: `${o.baseUrl}/v1/messages`,
        headers,
        body: JSON.stringify({ model: spec.model, stream: spec.stream, max_tokens: 256, messages: [{ role: 'user', content: prompt }] }),
      };
    case 'gemini':
      headers['x-goog-api-key'] = o.key;
      return {
        url: `${o.baseUrl}/v1beta/models/${spec.model}:${spec.stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
        headers,
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: prompt }] }], generationConfig: { maxOutputTokens: 256 } }),
      };
    case 'ollama':
      headers.authorization = `Bearer ${o.key}`;
      return {
        url: `${o.baseUrl}/api/chat`,
        headers,
        body: JSON.stringify({ model: spec.model, stream: spec.stream, messages: [{ role: 'user', content: prompt }] }),
      };
  }
}

/** The error code and whether the body is in the caller's API error shape. */
export function judgeErrorBody(api: CallerApi, text: string): { code: string | undefined; shapeOk: boolean } {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return { code: undefined, shapeOk: false };
  }
  const o = (j ?? {}) as Record<string, unknown>;
  const e = (o.error ?? undefined) as Record<string, unknown> | undefined;
  switch (api) {
    case 'openai': {
      // {"error":{"message","type","param","code"}}
      const ok = typeof e === 'object' && e !== null && typeof e.message === 'string' && typeof e.type === 'string';
      return { code: ok ? String(e.code ?? e.type) : undefined, shapeOk: ok };
    }
    case 'anthropic': {
      // {"type":"error","error":{"type","message"}}
      const ok = o.type === 'error' && typeof e === 'object' && e !== null && typeof e.type === 'string' && typeof e.message === 'string';
      return { code: ok ? String(e.type) : undefined, shapeOk: ok };
    }
    case 'gemini': {
      // {"error":{"code","message","status"}}
      const ok = typeof e === 'object' && e !== null && typeof e.code === 'number' && typeof e.message === 'string' && typeof e.status === 'string';
      return { code: ok ? String(e.status) : undefined, shapeOk: ok };
    }
    case 'ollama': {
      // {"error":"..."}
      const ok = typeof o.error === 'string';
      return { code: ok ? 'error' : undefined, shapeOk: ok };
    }
  }
}

/** Whether a 200's body is a whole answer in the caller's API; else why not. */
export function judgeSuccessBody(api: CallerApi, stream: boolean, text: string): { ok: true } | { ok: false; cls: string } {
  if (!stream) {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return { ok: false, cls: '200 body not JSON' };
    }
    const good =
      api === 'openai'
        ? Array.isArray(j.choices) && j.choices.length > 0
        : api === 'anthropic'
          ? j.type === 'message'
          : api === 'gemini'
            ? Array.isArray(j.candidates) && j.candidates.length > 0
            : j.done === true && typeof j.message === 'object';
    return good ? { ok: true } : { ok: false, cls: '200 body not an answer' };
  }
  switch (api) {
    case 'openai': {
      if (/^data: *\{"error"/m.test(text)) return { ok: false, cls: '200 stream error event' };
      return /^data: *\[DONE\]/m.test(text) ? { ok: true } : { ok: false, cls: '200 stream incomplete' };
    }
    case 'anthropic': {
      if (/^event: *error/m.test(text)) return { ok: false, cls: '200 stream error event' };
      return /^event: *message_stop/m.test(text) ? { ok: true } : { ok: false, cls: '200 stream incomplete' };
    }
    case 'gemini': {
      const events = text
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim());
      if (events.some((d) => d.startsWith('{"error"'))) return { ok: false, cls: '200 stream error event' };
      const last = events.at(-1);
      return last !== undefined && /"finishReason"/.test(last) ? { ok: true } : { ok: false, cls: '200 stream incomplete' };
    }
    case 'ollama': {
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      if (lines.some((l) => l.startsWith('{"error"'))) return { ok: false, cls: '200 stream error event' };
      try {
        return (JSON.parse(lines.at(-1) ?? '{}') as { done?: boolean }).done === true ? { ok: true } : { ok: false, cls: '200 stream incomplete' };
      } catch {
        return { ok: false, cls: '200 stream incomplete' };
      }
    }
  }
}

/** Node's fetch (undici) hides the socket error in `cause`. */
function connectionClass(err: unknown, timedOut: boolean, midBody: boolean): { cls: string; detail: string } {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  const code = e.cause?.code ?? e.cause?.name ?? e.name ?? 'error';
  const detail = `${code}: ${e.cause?.message ?? e.message ?? String(err)}`.slice(0, 160);
  if (timedOut) return { cls: midBody ? 'timeout mid-body' : 'timeout (no answer)', detail };
  if (code === 'ECONNREFUSED') return { cls: 'conn refused', detail };
  return { cls: midBody ? 'conn reset mid-body' : 'conn closed before answer', detail };
}

/** Sends one call and judges its outcome. Never throws. */
export async function sendCall(o: SendOptions, spec: CallSpec): Promise<CallOutcome> {
  const { url, headers, body } = request(o, spec);
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, o.timeoutMs);
  const sent = performance.now();
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal: ac.signal });
  } catch (err) {
    clearTimeout(timer);
    return { ok: false, status: undefined, ...connectionClass(err, timedOut, false) };
  }
  const headMs = performance.now() - sent;
  const meta = {
    status: res.status,
    requestId: res.headers.get('x-gateway-request-id') ?? undefined,
    provider: res.headers.get('x-gateway-provider') ?? undefined,
    attempts: res.headers.get('x-gateway-attempts') ?? undefined,
    headMs,
  };
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    return { ok: false, ...meta, ...connectionClass(err, timedOut, true) };
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 200) {
    const judged = judgeSuccessBody(spec.api, spec.stream, text);
    if (judged.ok) return { ok: true, ...meta, cls: 'ok' };
    return { ok: false, ...meta, cls: judged.cls, detail: text.slice(-200) };
  }
  const { code, shapeOk } = judgeErrorBody(spec.api, text);
  return {
    ok: false,
    ...meta,
    cls: `${res.status} ${code ?? '-'}`,
    code,
    shapeOk,
    detail: shapeOk ? undefined : text === '' ? `(empty body, content-type ${res.headers.get('content-type') ?? 'none'})` : text.slice(0, 200),
  };
}

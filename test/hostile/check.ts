/*
 * What a well-formed answer is, per inbound API: its error shape (the one each API's folder in
 * ext-proc/src/providers/<api>/errors.ts renders), its success shapes, and its stream framing.
 * `verdict` turns a case's answer into a list of problems; an empty list is a pass.
 */
import { KEY, PROVIDER_KEY } from './apis.js';
import type { WireResponse } from './send.js';
import type { Api, Expect, HostileCase } from './types.js';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v.length > 0;

/** Signs of a leak: a stack frame, a source path, Node internals, or a key. */
const LEAKS: Array<[string, RegExp]> = [
  ['a stack frame', /\bat (?:async )?[\w$.<>[\] ]*\(?(?:\/|file:|node:)[^\s)]*:\d+:\d+\)?/],
  ['a stack frame', /\n\s+at \S/],
  ['a TypeScript source position', /\.ts:\d/],
  ['a JavaScript source position', /\.[cm]?js:\d+/],
  ['Node internals', /node:internal/],
  ['a file path of the gateway', /\/(?:work|home|root|usr)\/\S*\/(?:ext-proc|node_modules|dist|simulators)\//],
  ['the provider key', new RegExp(PROVIDER_KEY)],
  ['the gateway key', new RegExp(KEY)],
];

export function leaks(body: string): string[] {
  return LEAKS.filter(([, re]) => re.test(body)).map(([what]) => `the body holds ${what}`);
}

/** The API's error body shape; undefined when it is one. */
export function errorShapeProblem(api: Api, body: unknown, status: number): string | undefined {
  if (!isRec(body)) return 'the error body is not a JSON object';
  switch (api) {
    case 'openai': {
      const e = body.error;
      if (!isRec(e)) return 'no `error` object (OpenAI shape is {error:{message,type,code}})';
      if (!nonEmpty(e.message)) return '`error.message` is not a non-empty string';
      if (!nonEmpty(e.type)) return '`error.type` is not a non-empty string';
      if (!('code' in e) || (e.code !== null && typeof e.code !== 'string')) return '`error.code` is missing or not string|null';
      return undefined;
    }
    case 'anthropic': {
      if (body.type !== 'error') return '`type` is not "error" (Anthropic shape is {type:"error",error:{type,message}})';
      const e = body.error;
      if (!isRec(e) || !nonEmpty(e.type) || !nonEmpty(e.message)) return '`error` lacks a non-empty `type` and `message`';
      return undefined;
    }
    case 'gemini': {
      const e = body.error;
      if (!isRec(e)) return 'no `error` object (Gemini shape is {error:{code,message,status}})';
      if (e.code !== status) return `\`error.code\` is ${JSON.stringify(e.code)}, not the HTTP status ${status}`;
      if (!nonEmpty(e.message)) return '`error.message` is not a non-empty string';
      if (typeof e.status !== 'string' || !/^[A-Z_]+$/.test(e.status)) return '`error.status` is not a google.rpc code name';
      return undefined;
    }
    case 'ollama':
      return nonEmpty(body.error) ? undefined : '`error` is not a non-empty string (Ollama shape is {error:"..."})';
  }
}

/** A whole (non-stream) success in the API's shape; undefined when it is one. */
function successShapeProblem(api: Api, answer: 'chat' | 'models', body: unknown): string | undefined {
  if (!isRec(body)) return 'the answer is not a JSON object';
  if (answer === 'models') {
    const ok =
      api === 'openai' ? body.object === 'list' && Array.isArray(body.data) : api === 'anthropic' ? Array.isArray(body.data) : Array.isArray(body.models);
    return ok ? undefined : `not a ${api} model list`;
  }
  switch (api) {
    case 'openai': {
      const c = Array.isArray(body.choices) ? (body.choices[0] as unknown) : undefined;
      if (body.object !== 'chat.completion' || !isRec(c) || !isRec(c.message) || !nonEmpty(c.finish_reason)) return 'not a complete chat.completion';
      return undefined;
    }
    case 'anthropic':
      return body.type === 'message' && Array.isArray(body.content) && nonEmpty(body.stop_reason) ? undefined : 'not a complete Anthropic message';
    case 'gemini': {
      const c = Array.isArray(body.candidates) ? (body.candidates[0] as unknown) : undefined;
      return isRec(c) && nonEmpty(c.finishReason) ? undefined : 'not a complete GenerateContentResponse';
    }
    case 'ollama':
      return body.done === true && isRec(body.message) ? undefined : 'not a complete Ollama chat answer';
  }
}

interface StreamEvent {
  event?: string;
  data: string;
}

function sseEvents(text: string): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) out.push({ event, data: data.join('\n') });
  }
  return out;
}

/** How a 200 stream ended: complete, with an error event (well-formed), or neither (a problem). */
export type StreamEnd = { end: 'complete' } | { end: 'error' } | { end: 'bad'; problem: string };

export function streamEnd(api: Api, text: string): StreamEnd {
  const parse = (s: string): unknown => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return undefined;
    }
  };
  if (api === 'ollama') {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) return { end: 'bad', problem: 'an empty stream' };
    for (const [i, line] of lines.entries()) {
      const v = parse(line);
      if (!isRec(v)) return { end: 'bad', problem: `stream line ${i + 1} is not a JSON object: ${line.slice(0, 80)}` };
      if ('error' in v) {
        if (i !== lines.length - 1) return { end: 'bad', problem: 'the stream goes on after an error line' };
        return nonEmpty(v.error) ? { end: 'error' } : { end: 'bad', problem: 'an error line without a message' };
      }
      if (!isRec(v.message) && v.done !== true) return { end: 'bad', problem: `stream line ${i + 1} is not an Ollama chat chunk` };
    }
    return (parse(lines.at(-1)!) as Rec).done === true ? { end: 'complete' } : { end: 'bad', problem: 'the stream stops without a done line' };
  }
  const events = sseEvents(text);
  if (events.length === 0) return { end: 'bad', problem: 'an empty stream' };
  let finished = false;
  for (const [i, e] of events.entries()) {
    const last = i === events.length - 1;
    if (api === 'openai' && e.data === '[DONE]') {
      if (!last) return { end: 'bad', problem: 'events after [DONE]' };
      return finished ? { end: 'complete' } : { end: 'bad', problem: '[DONE] without a finish_reason' };
    }
    const v = parse(e.data);
    if (!isRec(v)) return { end: 'bad', problem: `event ${i + 1} is not a JSON object: ${e.data.slice(0, 80)}` };
    const isError = api === 'anthropic' ? e.event === 'error' || v.type === 'error' : 'error' in v;
    if (isError) {
      // In a stream there is no HTTP status to compare: a Gemini error event's code must be a number.
      const code = isRec(v.error) && typeof v.error.code === 'number' ? v.error.code : Number.NaN;
      const problem = errorShapeProblem(api, v, code);
      if (problem) return { end: 'bad', problem: `error event: ${problem}` };
      return last ? { end: 'error' } : { end: 'bad', problem: 'the stream goes on after an error event' };
    }
    switch (api) {
      case 'openai': {
        if (v.object !== 'chat.completion.chunk' || !Array.isArray(v.choices)) return { end: 'bad', problem: `event ${i + 1} is not a chat.completion.chunk` };
        if (v.choices.some((c) => isRec(c) && nonEmpty(c.finish_reason))) finished = true;
        break;
      }
      case 'anthropic':
        if (typeof v.type !== 'string' || (e.event !== undefined && e.event !== v.type))
          return { end: 'bad', problem: `event ${i + 1} is not an Anthropic event` };
        if (i === 0 && v.type !== 'message_start') return { end: 'bad', problem: 'the stream does not open with message_start' };
        if (last)
          return v.type === 'message_stop'
            ? { end: 'complete' }
            : { end: 'bad', problem: `the stream stops after ${v.type}, without message_stop or an error event` };
        break;
      case 'gemini': {
        const c = Array.isArray(v.candidates) ? (v.candidates[0] as unknown) : undefined;
        if (!isRec(c) && !isRec(v.usageMetadata)) return { end: 'bad', problem: `event ${i + 1} is not a GenerateContentResponse` };
        if (last) {
          if (!isRec(c) || !nonEmpty(c.finishReason)) return { end: 'bad', problem: 'the stream stops without a finishReason or an error event' };
          // OTHER is what the gateway writes when it closes a stream it could not finish.
          return c.finishReason === 'OTHER'
            ? { end: 'bad', problem: 'the stream was closed with finishReason OTHER instead of an error event' }
            : { end: 'complete' };
        }
        break;
      }
    }
  }
  return { end: 'bad', problem: api === 'openai' ? 'the stream stops without [DONE] or an error event' : 'the stream stops without its last event' };
}

function isStreamType(ct: string): boolean {
  return ct.startsWith('text/event-stream') || ct.startsWith('application/x-ndjson');
}

/** Problems with a whole error answer in the caller's shape. */
function errorProblems(c: HostileCase, r: WireResponse): string[] {
  const out: string[] = [];
  const ct = r.headers['content-type'] ?? '';
  if (!ct.startsWith('application/json')) out.push(`content-type is ${JSON.stringify(ct)}, not application/json`);
  let body: unknown;
  try {
    body = JSON.parse(r.body.toString('utf8'));
  } catch {
    out.push(`the error body is not JSON: ${JSON.stringify(r.body.toString('utf8').slice(0, 120))}`);
    return out;
  }
  const shape = errorShapeProblem(c.api, body, r.status);
  if (shape) out.push(`not a ${c.api} error: ${shape}`);
  if (!r.headers['x-gateway-request-id']) out.push('no x-gateway-request-id header');
  return out;
}

/** Problems with a success: complete and valid in the caller's API. */
function successProblems(c: HostileCase, r: WireResponse): string[] {
  const ct = r.headers['content-type'] ?? '';
  const text = r.body.toString('utf8');
  if (r.incomplete) return ['the answer was cut off (connection closed before its end)'];
  if (isStreamType(ct)) {
    const end = streamEnd(c.api, text);
    if (end.end === 'bad') return [end.problem];
    if (end.end === 'error') return ['the stream ended with an error event'];
    return [];
  }
  if (!ct.startsWith('application/json')) return [`content-type is ${JSON.stringify(ct)}, not JSON or a stream`];
  try {
    const p = successShapeProblem(c.api, c.answer, JSON.parse(text));
    return p ? [p] : [];
  } catch {
    return [`the answer is not JSON: ${JSON.stringify(text.slice(0, 120))}`];
  }
}

/** A 200 stream that ends with a well-formed error event, as a provider failure may. */
function streamErrorProblems(c: HostileCase, r: WireResponse, cutOff: boolean): string[] {
  const ct = r.headers['content-type'] ?? '';
  if (!isStreamType(ct)) return [];
  if (r.incomplete || r.reset) return cutOff ? [] : ['the stream was cut off instead of ending with an error event'];
  const end = streamEnd(c.api, r.body.toString('utf8'));
  if (end.end === 'error') return [];
  if (end.end === 'complete') return ['the stream claims a complete answer for a failed provider call'];
  return [end.problem];
}

function describeExpect(e: Expect): string {
  switch (e.kind) {
    case 'reject':
      return `a 4xx error${e.status ? ` (${e.status.join('/')})` : ''}`;
    case 'ok':
      return 'a complete answer';
    case 'tolerate':
      return 'a complete answer or a 4xx error';
    case 'upstream':
      return `a ${e.status.join('/')} error${e.cutOff ? ' (or an answer cut off after its head)' : ''} or a stream ending in an error event`;
    case 'ok-or-upstream':
      return `a complete answer or a ${e.status.join('/')} error${e.cutOff ? ' (or an answer cut off after its head)' : ''}`;
  }
}

/** Everything wrong with the answer to a case; empty when it passes. */
export function verdict(c: HostileCase, r: WireResponse): string[] {
  const want = describeExpect(c.expect);
  if (r.timedOut) return [`no answer within ${r.ms} ms (a hang); wanted ${want}${r.status ? `; got ${r.status} head only` : ''}`];
  if (r.status === 0) return [`the connection was ${r.reset ? 'reset' : 'closed'} without an answer; wanted ${want}`];
  const leaked = leaks(r.body.toString('latin1'));
  const s = r.status;
  const e = c.expect;
  const problems: string[] = [];
  const isError = s >= 400;
  const asError = (allowed: (s: number) => boolean): string[] =>
    allowed(s) ? errorProblems(c, r) : [`status ${s}, wanted ${want}`, ...(isError ? errorProblems(c, r) : [])];
  switch (e.kind) {
    case 'reject':
      problems.push(...asError((x) => x >= 400 && x < 500 && (!e.status || e.status.includes(x))));
      break;
    case 'ok':
      if (s >= 200 && s < 300) problems.push(...successProblems(c, r));
      else problems.push(`status ${s}, wanted ${want}`, ...(isError ? errorProblems(c, r) : []));
      break;
    case 'tolerate':
      if (s >= 200 && s < 300) problems.push(...successProblems(c, r));
      else problems.push(...asError((x) => x >= 400 && x < 500));
      break;
    case 'upstream':
    case 'ok-or-upstream': {
      const ct = r.headers['content-type'] ?? '';
      const cutOff = e.cutOff === true;
      if (s >= 200 && s < 300 && cutOff && (r.incomplete || r.reset)) break;
      if (s === 200 && isStreamType(ct)) {
        const end = r.incomplete || r.reset ? undefined : streamEnd(c.api, r.body.toString('utf8'));
        if (e.kind === 'ok-or-upstream' && end?.end === 'complete') break;
        problems.push(...streamErrorProblems(c, r, cutOff));
      } else if (s >= 200 && s < 300) {
        if (e.kind === 'ok-or-upstream') problems.push(...successProblems(c, r));
        else problems.push(`status ${s} for a failed provider call, wanted ${want}`);
      } else problems.push(...asError((x) => e.status.includes(x)));
      break;
    }
  }
  return [...problems, ...leaked];
}

import { GatewayError } from '../../errors.js';
import type { RenderContext } from '../canonical/format.js';
import { nestedDeeperThan, tooDeepMessage } from '../../util/json-depth.js';
import type { CanonicalResponse, FinishReason, Part } from '../canonical/types.js';
import { fromGeminiFinish, toGeminiFinish, type GeminiFinishReason } from './finish.js';
import { fromGeminiUsage, toGeminiUsage } from './usage.js';

/*
 * GenerateContentResponse ↔ CanonicalResponse. Only the first candidate is read (more than one
 * needs candidateCount > 1, which only a Gemini caller can ask for, and its answer passes through
 * untouched). Thought-summary parts are not part of the answer and are skipped.
 */

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `models/gemini-2.5-flash` and `gemini-2.5-flash` name the same model. */
export const bareModel = (v: unknown): string => (typeof v === 'string' ? (v.startsWith('models/') ? v.slice('models/'.length) : v) : '');

/** A functionCall's id when Gemini gave one, else `call_<index>` (index counts calls in this answer). */
export const functionCallId = (fc: Record<string, unknown>, index: number): string => (typeof fc.id === 'string' && fc.id !== '' ? fc.id : `call_${index}`);

/** The answer parts of one candidate: text (thoughts skipped) and function calls. */
export function candidateParts(candidate: unknown, firstCallIndex = 0): Part[] {
  const parts: Part[] = [];
  const content = isRecord(candidate) ? candidate.content : undefined;
  const raw = isRecord(content) && Array.isArray(content.parts) ? content.parts : [];
  let calls = firstCallIndex;
  for (const p of raw) {
    if (!isRecord(p) || p.thought === true) continue;
    if (typeof p.text === 'string') {
      if (p.text !== '') parts.push({ type: 'text', text: p.text });
    } else if (isRecord(p.functionCall) && typeof p.functionCall.name === 'string') {
      const fc = p.functionCall;
      parts.push({ type: 'tool_call', id: functionCallId(fc, calls), name: fc.name as string, arguments: JSON.stringify(isRecord(fc.args) ? fc.args : {}) });
      calls++;
    }
  }
  return parts;
}

export function parseGeminiResponse(body: unknown): CanonicalResponse {
  if (!isRecord(body) || (!Array.isArray(body.candidates) && !isRecord(body.promptFeedback) && !isRecord(body.usageMetadata))) {
    throw new GatewayError('upstream', 'The Gemini backend answered with something that is not a GenerateContentResponse.', {
      code: 'upstream_invalid_response',
    });
  }
  // Function call args are re-serialised as argument text, which would overflow the stack past the limit.
  if (nestedDeeperThan(body)) throw new GatewayError('upstream', tooDeepMessage("The Gemini backend's answer"), { code: 'upstream_invalid_response' });
  const candidate = Array.isArray(body.candidates) ? body.candidates[0] : undefined;
  const content = candidateParts(candidate);
  let finishReason: FinishReason;
  if (isRecord(candidate) && typeof candidate.finishReason === 'string') {
    finishReason = fromGeminiFinish(
      candidate.finishReason,
      content.some((p) => p.type === 'tool_call'),
    );
  } else if (isRecord(body.promptFeedback) && typeof body.promptFeedback.blockReason === 'string') {
    // The prompt itself was blocked: no candidate at all.
    finishReason = 'content_filter';
  } else {
    finishReason = content.some((p) => p.type === 'tool_call') ? 'tool_calls' : 'stop';
  }
  const out: CanonicalResponse = { id: typeof body.responseId === 'string' ? body.responseId : '', model: bareModel(body.modelVersion), content, finishReason };
  const usage = fromGeminiUsage(body.usageMetadata);
  if (usage) out.usage = usage;
  return out;
}

/**
 * Arguments as the object Gemini's `args` must be, or undefined when they are not a JSON object
 * (or nest too deeply to be re-serialised).
 */
export function argsObject(args: string): Record<string, unknown> | undefined {
  if (args.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(args);
    return isRecord(v) && !nestedDeeperThan(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A canonical tool call as a Gemini part; undefined when its arguments are not a JSON object. */
export function functionCallPart(call: { id: string; name: string; arguments: string }): Record<string, unknown> | undefined {
  const args = argsObject(call.arguments);
  return args && { functionCall: { id: call.id, name: call.name, args } };
}

export function renderGeminiResponse(res: CanonicalResponse, ctx: RenderContext): Record<string, unknown> {
  const parts: Array<Record<string, unknown>> = [];
  let malformedCall = false;
  for (const p of res.content) {
    if (p.type === 'text') parts.push({ text: p.text });
    else if (p.type === 'tool_call') {
      const part = functionCallPart(p);
      // Gemini has a finish reason for exactly this: a call whose arguments are not an object.
      if (part) parts.push(part);
      else malformedCall = true;
    }
  }
  let finishReason: GeminiFinishReason = toGeminiFinish(res.finishReason);
  if (malformedCall && finishReason !== 'MAX_TOKENS') finishReason = 'MALFORMED_FUNCTION_CALL';

  const candidate: Record<string, unknown> = {};
  // A filtered answer has no content in Gemini; any other empty answer is one empty text part.
  if (parts.length > 0) candidate.content = { parts, role: 'model' };
  else if (res.finishReason !== 'content_filter') candidate.content = { parts: [{ text: '' }], role: 'model' };
  candidate.finishReason = finishReason;
  candidate.index = 0;

  const out: Record<string, unknown> = { candidates: [candidate] };
  if (res.usage) out.usageMetadata = toGeminiUsage(res.usage);
  out.modelVersion = ctx.model;
  out.responseId = ctx.id;
  return out;
}

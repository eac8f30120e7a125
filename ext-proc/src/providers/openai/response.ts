import { GatewayError } from '../../errors.js';
import { nestedDeeperThan, tooDeepMessage } from '../../util/json-depth.js';
import type { CanonicalResponse, Part } from '../canonical/types.js';
import type { RenderContext } from '../canonical/format.js';
import { finishFromOpenAI, finishToOpenAI } from './finish.js';
import { fromOpenAIUsage, toOpenAIUsage } from './usage.js';

type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function notACompletion(why: string): GatewayError {
  return new GatewayError('upstream', `The OpenAI-format backend returned an unexpected body: ${why}`);
}

/**
 * Arguments as JSON text. Some compatible servers send the object itself, and an empty
 * string means "no arguments", which other formats need as `{}`.
 */
export function argumentsText(args: unknown): string {
  if (typeof args === 'string') return args === '' ? '{}' : args;
  if (isRec(args)) return JSON.stringify(args);
  return '{}';
}

function messageText(message: Rec): string {
  const c = message.content;
  let text = '';
  if (typeof c === 'string') text = c;
  else if (Array.isArray(c)) for (const p of c) if (isRec(p) && typeof p.text === 'string') text += p.text;
  // A refusal is the model's answer; other formats have no separate field for it.
  if (text === '' && typeof message.refusal === 'string') text = message.refusal;
  return text;
}

/** A chat.completion body from the backend as the canonical response. */
export function parseChatCompletion(body: unknown): CanonicalResponse {
  if (!isRec(body)) throw notACompletion('not a JSON object.');
  // Re-serialising arguments sent as objects would overflow the stack.
  if (nestedDeeperThan(body)) throw notACompletion(tooDeepMessage('it'));
  if (!Array.isArray(body.choices)) throw notACompletion('no choices.');
  const choices = body.choices as unknown[];
  const choice = choices.find((c) => isRec(c) && c.index === 0) ?? choices[0];
  if (!isRec(choice) || !isRec(choice.message)) throw notACompletion('no message in the first choice.');
  const message = choice.message;

  const content: Part[] = [];
  const text = messageText(message);
  if (text !== '') content.push({ type: 'text', text });
  const toolCalls = Array.isArray(message.tool_calls) ? (message.tool_calls as unknown[]) : [];
  toolCalls.forEach((tc, k) => {
    if (!isRec(tc) || !isRec(tc.function) || typeof tc.function.name !== 'string') return;
    // Only function calls can come back: the gateway never declares other tool types.
    content.push({
      type: 'tool_call',
      id: typeof tc.id === 'string' && tc.id !== '' ? tc.id : `call_${k}`,
      name: tc.function.name,
      arguments: argumentsText(tc.function.arguments),
    });
  });

  let finishReason = finishFromOpenAI(choice.finish_reason);
  // Some compatible servers report `stop` beside tool calls; callers of other formats key on the tool-use reason.
  if (finishReason === 'stop' && content.some((p) => p.type === 'tool_call')) finishReason = 'tool_calls';
  const usage = fromOpenAIUsage(body.usage);
  return {
    id: typeof body.id === 'string' ? body.id : '',
    model: typeof body.model === 'string' ? body.model : '',
    content,
    finishReason,
    ...(usage ? { usage } : {}),
  };
}

/** The chat.completion body for an OpenAI caller. */
export function renderChatCompletion(res: CanonicalResponse, ctx: RenderContext): Rec {
  let text: string | undefined;
  const toolCalls: Rec[] = [];
  for (const p of res.content) {
    // Text parts are consecutive pieces of one answer, exactly as a stream would deliver them.
    if (p.type === 'text') text = (text ?? '') + p.text;
    else if (p.type === 'tool_call') toolCalls.push({ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } });
  }
  const message: Rec = { role: 'assistant', content: text ?? (toolCalls.length > 0 ? null : ''), refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishToOpenAI(res.finishReason) }],
    ...(res.usage ? { usage: toOpenAIUsage(res.usage) } : {}),
  };
}

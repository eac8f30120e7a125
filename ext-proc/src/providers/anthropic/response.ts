import { z } from 'zod';
import { GatewayError } from '../../errors.js';
import type { RenderContext } from '../canonical/format.js';
import { nestedDeeperThan } from '../../util/json-depth.js';
import type { CanonicalResponse, Part } from '../canonical/types.js';
import { fromAnthropicStopReason, toAnthropicStopReason } from './stop-reason.js';
import { fromAnthropicUsage, readAnthropicUsage, toAnthropicUsage } from './usage.js';

const MessageBody = z
  .object({
    id: z.string(),
    model: z.string(),
    content: z.array(z.object({ type: z.string() }).loose()),
    stop_reason: z.string().nullable().optional(),
    usage: z.object({}).loose().optional(),
  })
  .loose();

/**
 * A backend's Message JSON in canonical form. Text and tool_use blocks are kept in order;
 * thinking and server-tool blocks have no canonical equivalent and are left out.
 */
export function parseAnthropicResponse(body: unknown): CanonicalResponse {
  const r = MessageBody.safeParse(body);
  // Tool input is re-serialised as argument text, which would overflow the stack past the limit.
  if (!r.success || (body as { type?: unknown }).type !== 'message' || nestedDeeperThan(body)) {
    throw new GatewayError('upstream', 'The Anthropic backend answered with a body that is not a Message.');
  }
  const msg = r.data;
  const content: Part[] = [];
  for (const b of msg.content) {
    if (b.type === 'text' && typeof b.text === 'string') content.push({ type: 'text', text: b.text });
    else if (b.type === 'tool_use' && typeof b.id === 'string' && typeof b.name === 'string') {
      content.push({ type: 'tool_call', id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) });
    }
  }
  const usage = readAnthropicUsage(msg.usage);
  return {
    id: msg.id,
    model: msg.model,
    content,
    finishReason: fromAnthropicStopReason(msg.stop_reason),
    ...(usage ? { usage: fromAnthropicUsage(usage) } : {}),
  };
}

/**
 * A tool_use `input` must be an object. Arguments that are not one (a call cut off by the token
 * limit), or that nest too deeply to re-serialise, render as the empty object rather than failing
 * the whole answer.
 */
export function toolInputObject(args: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(args);
    if (v && typeof v === 'object' && !Array.isArray(v) && !nestedDeeperThan(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  return {};
}

/** The caller's Message JSON. Missing usage renders as zeros: the fields are required in the format. */
export function renderAnthropicResponse(res: CanonicalResponse, ctx: RenderContext): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  for (const p of res.content) {
    if (p.type === 'text') content.push({ type: 'text', text: p.text });
    else if (p.type === 'tool_call') content.push({ type: 'tool_use', id: p.id, name: p.name, input: toolInputObject(p.arguments) });
  }
  return {
    id: ctx.id,
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content,
    stop_reason: toAnthropicStopReason(res.finishReason),
    stop_sequence: null,
    usage: toAnthropicUsage(res.usage ?? { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 }),
  };
}

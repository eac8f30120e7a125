import type { CanonicalRequest } from '../providers/canonical/types.js';
import type { ChatMessageLike, ClassifyRequest } from './types.js';

/**
 * The classifier reads OpenAI-shaped messages; any caller API reaches it through the canonical
 * form. Only what the features look at is carried: text, images, tool calls and results.
 */
export function classifyRequestOf(req: CanonicalRequest): ClassifyRequest {
  const messages: ChatMessageLike[] = [];
  if (req.system) messages.push({ role: 'system', content: req.system });
  for (const m of req.messages) {
    const parts: unknown[] = [];
    const toolCalls: unknown[] = [];
    for (const p of m.content) {
      if (p.type === 'text') parts.push({ type: 'text', text: p.text });
      else if (p.type === 'image') parts.push({ type: 'image_url', image_url: { url: p.source.kind === 'url' ? p.source.url : 'data:' } });
      else if (p.type === 'tool_call') toolCalls.push({ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } });
      else parts.push({ type: 'text', text: p.content });
    }
    const msg: ChatMessageLike & { tool_calls?: unknown[] } = { role: m.role, content: parts };
    if (toolCalls.length > 0) msg.tool_calls = toolCalls;
    messages.push(msg);
  }
  return {
    messages,
    tools: req.tools,
    response_format:
      req.responseFormat && req.responseFormat.type !== 'text' ? { type: req.responseFormat.type === 'json' ? 'json_object' : 'json_schema' } : undefined,
    max_tokens: req.maxTokens,
  };
}

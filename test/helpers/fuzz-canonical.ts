/*
 * fast-check generators of the gateway's canonical forms (providers/canonical/types.ts): chat
 * requests a caller of any API could have sent, answers, and stream event sequences in the order
 * decoders emit them.
 */
import fc from 'fast-check';
import type { Usage } from '../../ext-proc/src/metering/usage.js';
import type {
  CanonicalMessage,
  CanonicalRequest,
  CanonicalResponse,
  CanonicalTool,
  FinishReason,
  Part,
  StreamEvent,
} from '../../ext-proc/src/providers/canonical/types.js';
import { wildString } from './fuzz.js';

/** Text worth carrying: not empty (formats drop empty text parts, which is no loss). */
export const text = wildString.filter((s) => s !== '');

/** Function names every API accepts. */
const toolName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);

/** Tool call arguments: always a JSON object as text (the canonical rule). */
export const argumentsText = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }).map((o) => JSON.stringify(o));

const schema = fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/), fc.constantFrom('string', 'number', 'integer', 'boolean'), { maxKeys: 4 }).map((props) => ({
  type: 'object',
  properties: Object.fromEntries(Object.entries(props).map(([k, t]) => [k, { type: t }])),
}));

const tool: fc.Arbitrary<CanonicalTool> = fc.record({ name: toolName, description: text, parameters: schema }, { requiredKeys: ['name', 'parameters'] });

/** Each image type's file signature: Ollama carries no media type and reads it from the bytes. */
const SIGNATURE: Record<string, Buffer> = {
  'image/png': Buffer.from('89504e470d0a1a0a', 'hex'),
  'image/jpeg': Buffer.from('ffd8ff', 'hex'),
  'image/webp': Buffer.from('RIFF\0\0\0\0WEBP', 'latin1'),
};

const base64Image = fc.record({ mediaType: fc.constantFrom(...Object.keys(SIGNATURE)), rest: fc.uint8Array({ maxLength: 24 }) }).map(
  ({ mediaType, rest }): Part => ({
    type: 'image',
    source: { kind: 'base64', mediaType, data: Buffer.concat([SIGNATURE[mediaType]!, rest]).toString('base64') },
  }),
);

const userTurn: fc.Arbitrary<CanonicalMessage> = fc
  .tuple(fc.array(text, { minLength: 1, maxLength: 3 }), fc.option(base64Image, { nil: undefined }))
  .map(([texts, image]) => ({
    role: 'user',
    content: [...texts.map((t): Part => ({ type: 'text', text: t })), ...(image ? [image] : [])],
  }));

/** What a tool returned: any text, often JSON (what most tools return). */
const toolResult = fc.oneof(
  text,
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
);

interface Reply {
  said: string | undefined;
  calls: Array<{ name: string; arguments: string; result: string; isError: boolean }>;
}

/** An assistant turn and, when it calls tools, the turn answering every call (ids unique per request). */
const exchange: fc.Arbitrary<Reply> = fc.record({
  said: fc.option(text, { nil: undefined }),
  calls: fc.array(fc.record({ name: toolName, arguments: argumentsText, result: toolResult, isError: fc.boolean() }), { maxLength: 2 }),
});

function conversation(turns: Array<{ user: CanonicalMessage; reply?: Reply }>): CanonicalMessage[] {
  const messages: CanonicalMessage[] = [];
  let callCount = 0;
  for (const { user, reply } of turns) {
    messages.push(user);
    if (!reply || (reply.said === undefined && reply.calls.length === 0)) continue;
    const ids = reply.calls.map(() => `call_${callCount++}`);
    messages.push({
      role: 'assistant',
      content: [
        ...(reply.said !== undefined ? [{ type: 'text' as const, text: reply.said }] : []),
        ...reply.calls.map((c, k): Part => ({ type: 'tool_call', id: ids[k]!, name: c.name, arguments: c.arguments })),
      ],
    });
    if (reply.calls.length > 0) {
      messages.push({
        role: 'tool',
        content: reply.calls.map(
          (c, k): Part => ({ type: 'tool_result', toolCallId: ids[k]!, name: c.name, content: c.result, ...(c.isError ? { isError: true } : {}) }),
        ),
      });
    }
  }
  return messages;
}

const unit = fc.double({ min: 0, max: 1, noNaN: true });

/**
 * A canonical request every backend API can take as it is: no JSON output mode (Anthropic has
 * none), no forced tool choice (Ollama cannot force one), at most 4 stop sequences (OpenAI's limit).
 */
export const portableRequest: fc.Arbitrary<CanonicalRequest> = fc
  .record(
    {
      model: fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/),
      system: text,
      turns: fc.array(fc.record({ user: userTurn, reply: exchange }, { requiredKeys: ['user'] }), { minLength: 1, maxLength: 4 }),
      stream: fc.boolean(),
      maxTokens: fc.integer({ min: 1, max: 200_000 }),
      temperature: unit,
      topP: unit,
      stop: fc.array(text, { minLength: 1, maxLength: 4 }),
      seed: fc.integer(),
      tools: fc.uniqueArray(tool, { minLength: 1, maxLength: 3, selector: (t) => t.name }),
      toolChoice: fc.constantFrom('auto' as const, 'none' as const),
    },
    { requiredKeys: ['model', 'turns', 'stream'] },
  )
  .map(({ turns, ...rest }) => {
    const req: CanonicalRequest = { ...rest, messages: conversation(turns), sameFormatOnly: [] };
    if (!req.tools) delete req.toolChoice;
    return req;
  });

/** Any canonical request, including what some APIs refuse (with a 4xx naming the field). */
export const anyRequest: fc.Arbitrary<CanonicalRequest> = fc
  .record({
    base: portableRequest,
    temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
    stop: fc.option(fc.array(text, { maxLength: 8 }), { nil: undefined }),
    topK: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
    penalties: fc.option(fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })), { nil: undefined }),
    toolChoice: fc.option(fc.oneof(fc.constantFrom('auto' as const, 'none' as const, 'required' as const), fc.record({ name: toolName })), { nil: undefined }),
    responseFormat: fc.option(
      fc.oneof(
        fc.constant({ type: 'text' as const }),
        fc.constant({ type: 'json' as const }),
        fc.record({ type: fc.constant('json_schema' as const), name: toolName, schema, strict: fc.boolean() }, { requiredKeys: ['type', 'schema'] }),
      ),
      { nil: undefined },
    ),
    parallelToolCalls: fc.option(fc.boolean(), { nil: undefined }),
    includeUsage: fc.option(fc.boolean(), { nil: undefined }),
    imageUrl: fc.option(fc.constantFrom('https://example.com/cat.png', 'https://example.com/no-extension', 'data:image/png;base64,AAAA'), { nil: undefined }),
  })
  .map(({ base, imageUrl, penalties, ...extra }) => {
    const req: CanonicalRequest = { ...base };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) (req as unknown as Record<string, unknown>)[k] = v;
    if (penalties) [req.presencePenalty, req.frequencyPenalty] = penalties;
    if (imageUrl) req.messages = [{ role: 'user', content: [{ type: 'image', source: { kind: 'url', url: imageUrl } }] }, ...req.messages];
    return req;
  });

export const usage: fc.Arbitrary<Usage> = fc
  .record({ input: fc.nat(1_000_000), output: fc.nat(100_000), cachedShare: fc.double({ min: 0, max: 1, noNaN: true }) })
  .map(({ input, output, cachedShare }) => ({
    inputTokens: input,
    outputTokens: output,
    cachedInputTokens: Math.floor(input * cachedShare),
    reasoningTokens: 0,
  }));

export const finishReason: fc.Arbitrary<FinishReason> = fc.constantFrom('stop', 'length', 'tool_calls', 'content_filter', 'error');

/** A backend's answer: text and tool calls in any order, a finish reason, maybe usage. */
export const response: fc.Arbitrary<CanonicalResponse> = fc
  .record(
    {
      id: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
      model: fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/),
      content: fc.array(
        fc.oneof(
          text.map((t): Part => ({ type: 'text', text: t })),
          fc.record({ name: toolName, arguments: argumentsText }).map((c): Part => ({ type: 'tool_call', id: '', name: c.name, arguments: c.arguments })),
        ),
        { maxLength: 4 },
      ),
      finishReason,
      usage,
    },
    { requiredKeys: ['id', 'model', 'content', 'finishReason'] },
  )
  .map((r) => {
    let n = 0;
    // Tool call ids are unique within an answer.
    for (const p of r.content) if (p.type === 'tool_call') p.id = `call_${n++}`;
    return r;
  });

/**
 * A stream as a decoder emits it: start, then text and tool calls (each call's arguments in
 * pieces that join to a JSON object), then finish and usage in either order, either possibly
 * missing, or an error.
 */
export const streamEvents: fc.Arbitrary<StreamEvent[]> = fc
  .record({
    id: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
    model: fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/),
    body: fc.array(
      fc.oneof(
        text.map((t) => ({ kind: 'text' as const, text: t })),
        fc.record({ name: toolName, args: argumentsText, cuts: fc.array(fc.nat(), { maxLength: 3 }) }).map((c) => ({ kind: 'call' as const, ...c })),
      ),
      { maxLength: 5 },
    ),
    finish: fc.option(finishReason, { nil: undefined }),
    usage: fc.option(usage, { nil: undefined }),
    usageFirst: fc.boolean(),
    error: fc.option(fc.record({ message: text, status: fc.constantFrom(400, 429, 500, 502, 503, 529) }), { nil: undefined }),
  })
  .map((s) => {
    const events: StreamEvent[] = [{ type: 'start', id: s.id, model: s.model }];
    let index = 0;
    for (const b of s.body) {
      if (b.kind === 'text') {
        events.push({ type: 'text', text: b.text });
        continue;
      }
      const i = index++;
      events.push({ type: 'tool_call_start', index: i, id: `call_${i}`, name: b.name });
      for (const piece of pieces(b.args, b.cuts)) events.push({ type: 'tool_call_delta', index: i, arguments: piece });
    }
    if (s.error) {
      events.push({ type: 'error', ...s.error });
      return events;
    }
    const finish: StreamEvent[] = s.finish ? [{ type: 'finish', reason: s.finish }] : [];
    const used: StreamEvent[] = s.usage ? [{ type: 'usage', usage: s.usage }] : [];
    events.push(...(s.usageFirst ? [...used, ...finish] : [...finish, ...used]));
    return events;
  });

function pieces(s: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) out.push(s.slice(from, p));
    from = Math.max(from, p);
  }
  out.push(s.slice(from));
  return out;
}

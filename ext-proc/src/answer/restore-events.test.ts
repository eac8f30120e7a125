import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../providers/canonical/types.js';
import { FORMATS } from '../providers/formats.js';
import { RestoringEvents } from './restore-events.js';
import { AnswerTranslator } from './translator.js';

const ORIGINALS = new Map([
  ['<EMAIL_1>', 'ana@x.es'],
  ['<PHONE_1>', '+34 612 345 678'],
]);

function texts(events: StreamEvent[]): string {
  return events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
}

describe('RestoringEvents', () => {
  it('restores a placeholder cut across text deltas, holding only the cut tail', () => {
    const r = new RestoringEvents(ORIGINALS);
    const first = r.push([
      { type: 'start', id: 'x', model: 'm' },
      { type: 'text', text: 'Write to <EMA' },
    ]);
    expect(first).toEqual([
      { type: 'start', id: 'x', model: 'm' },
      { type: 'text', text: 'Write to ' },
    ]);
    expect(r.push([{ type: 'text', text: 'IL_' }])).toEqual([]);
    const rest = r.push([
      { type: 'text', text: '1> now' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(rest).toEqual([
      { type: 'text', text: 'ana@x.es now' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('lets a held tail go before a tool call starts and at the end; tool arguments are restored as JSON', () => {
    const r = new RestoringEvents(ORIGINALS);
    const out = [
      ...r.push([
        { type: 'text', text: 'ok <' },
        { type: 'tool_call_start', index: 0, id: 'c', name: 'f' },
      ]),
      ...r.push([{ type: 'tool_call_delta', index: 0, arguments: '{"to":"<PHO' }]),
      ...r.push([
        { type: 'tool_call_delta', index: 0, arguments: 'NE_1>"}' },
        { type: 'usage', usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, reasoningTokens: 0 } },
      ]),
      ...r.end(),
    ];
    expect(out[0]).toEqual({ type: 'text', text: 'ok ' });
    expect(out[1]).toEqual({ type: 'text', text: '<' });
    expect(out[2]).toMatchObject({ type: 'tool_call_start' });
    const args = out.flatMap((e) => (e.type === 'tool_call_delta' ? [e.arguments] : [])).join('');
    expect(JSON.parse(args)).toEqual({ to: '+34 612 345 678' });
  });
});

/** An OpenAI stream whose text arrives one piece per event, the way a model writes it. */
function openaiStream(pieces: string[]): string {
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  return [
    chunk({ role: 'assistant', content: '' }),
    ...pieces.map((p) => chunk({ content: p })),
    chunk({}, 'stop'),
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } })}\n\n`,
    'data: [DONE]\n\n',
  ].join('');
}

describe('AnswerTranslator with restore', () => {
  it('OpenAI to OpenAI: the stream is re-encoded with the values back, whatever the TCP cuts', () => {
    const upstream = openaiStream(['Mail ', '<', 'EMAIL', '_', '1', '>', ' or call ', '<PHONE_1>', '.']);
    for (const size of [1, 7, 50, upstream.length]) {
      const t = new AnswerTranslator(FORMATS.openai, FORMATS.openai, { stream: true, callerModel: 'gpt-4o-mini', includeUsage: false, restore: ORIGINALS });
      expect(t.contentType()).toBe('text/event-stream');
      let out = '';
      for (let i = 0; i < upstream.length; i += size) out += t.chunk(Buffer.from(upstream.slice(i, i + size)), i + size >= upstream.length)!.toString();
      const text = out
        .split('\n\n')
        .filter((l) => l.startsWith('data: {'))
        .map((l) => JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content?: string } }> })
        .map((c) => c.choices[0]?.delta.content ?? '')
        .join('');
      expect(text, `cut every ${size}`).toBe('Mail ana@x.es or call +34 612 345 678.');
      expect(out).not.toContain('"usage"');
      expect(t.usage).toMatchObject({ inputTokens: 5, outputTokens: 4 });
    }
  });

  it('OpenAI backend, Anthropic caller: text deltas carry the values', () => {
    const t = new AnswerTranslator(FORMATS.anthropic, FORMATS.openai, { stream: true, callerModel: 'gpt-4o-mini', includeUsage: false, restore: ORIGINALS });
    const out = t.chunk(Buffer.from(openaiStream(['Hi <EMA', 'IL_1>!'])), true)!.toString();
    const deltas = out
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as { type: string; delta?: { text?: string } })
      .filter((e) => e.type === 'content_block_delta')
      .map((e) => e.delta?.text ?? '');
    expect(deltas.join('')).toBe('Hi ana@x.es!');
  });

  it('without restore, same-API streams still pass unchanged', () => {
    const t = new AnswerTranslator(FORMATS.openai, FORMATS.openai, { stream: true, callerModel: 'gpt-4o-mini', includeUsage: false });
    expect(t.contentType()).toBeUndefined();
    expect(t.chunk(Buffer.from(openaiStream(['<EMAIL_1>'])), true)).toBeUndefined();
  });

  it('RestoringEvents on an empty stream adds nothing', () => {
    expect(texts(new RestoringEvents(ORIGINALS).end())).toBe('');
  });
});

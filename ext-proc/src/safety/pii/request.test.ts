import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../providers/canonical/types.js';
import { Redactor } from './redactor.js';
import { conversationTexts, redactBody, redactCanonical } from './request.js';

const IMAGE = 'data:image/png;base64,iVBORw0KGgo4111111111111111AAAA';

function chat(): CanonicalRequest {
  return {
    model: 'gpt-4o-mini',
    stream: false,
    sameFormatOnly: [],
    system: 'Agent for ana@x.es',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'My card is 4111 1111 1111 1111' },
          { type: 'image', source: { kind: 'url', url: IMAGE } },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_call', id: 'call_1', name: 'lookup', arguments: '{"email":"ana@x.es","card":4111111111111111}' }] },
      { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_1', name: 'lookup', content: '{"phone":"+34 612 345 678"}' }] },
    ],
  };
}

describe('redactCanonical', () => {
  it('redacts the system prompt, text parts, tool-call arguments and tool results; images stay', () => {
    const r = new Redactor();
    const out = redactCanonical(chat(), r);
    expect(out.system).toBe('Agent for <EMAIL_1>');
    expect(out.messages[0]!.content).toEqual([
      { type: 'text', text: 'My card is <CARD_1>' },
      { type: 'image', source: { kind: 'url', url: IMAGE } },
    ]);
    const call = out.messages[1]!.content[0] as { arguments: string };
    // Still JSON: the number became the placeholder string.
    expect(JSON.parse(call.arguments)).toEqual({ email: '<EMAIL_1>', card: '<CARD_1>' });
    expect(out.messages[2]!.content[0]).toMatchObject({ content: '{"phone":"<PHONE_1>"}', toolCallId: 'call_1' });
    expect(r.counts).toEqual({ email: 2, card: 2, phone: 1 });
    expect(conversationTexts(out).join(' ')).not.toMatch(/ana@x\.es|4111|612/);
  });

  it('a request without values is returned as the same object', () => {
    const c: CanonicalRequest = { model: 'm', stream: false, sameFormatOnly: [], messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] };
    expect(redactCanonical(c, new Redactor())).toBe(c);
  });
});

describe('redactBody', () => {
  it('OpenAI: texts, tool-call arguments and `user` redacted; model, ids, images and settings untouched', () => {
    const r = new Redactor();
    r.redact('ana@x.es');
    const body = {
      model: 'gpt-4o-mini',
      seed: 4111111111111111,
      user: 'bob@y.com',
      messages: [
        { role: 'system', content: 'Agent for ana@x.es' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'ip 10.0.0.1' },
            { type: 'image_url', image_url: { url: IMAGE } },
          ],
        },
        { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"to":"ana@x.es"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'sent to ana@x.es' },
      ],
    };
    const out = redactBody(body, r) as typeof body;
    expect(out).not.toBe(body);
    expect(out.model).toBe('gpt-4o-mini');
    expect(out.seed).toBe(4111111111111111);
    expect(out.user).toBe('<EMAIL_2>');
    expect(out.messages[0]!.content).toBe('Agent for <EMAIL_1>');
    expect(out.messages[1]!.content).toEqual([
      { type: 'text', text: 'ip <IP_1>' },
      { type: 'image_url', image_url: { url: IMAGE } },
    ]);
    expect(JSON.parse(out.messages[2]!.tool_calls![0]!.function.arguments)).toEqual({ to: '<EMAIL_1>' });
    expect(out.messages[3]!.content).toBe('sent to <EMAIL_1>');
    // The body was not changed in place.
    expect(body.user).toBe('bob@y.com');
    // Values already seen in the call are not counted again; new ones are.
    expect(r.counts).toEqual({ email: 2, ip: 1 });
  });

  it('Anthropic: a signed thinking block and base64 media stay whole; tool_use input is data', () => {
    const thinking = { type: 'thinking', thinking: 'the user is ana@x.es', signature: 'EqQBCkYIBxgCKkA' };
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR4111111111111111' } };
    const body = {
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      metadata: { user_id: 'ana@x.es' },
      messages: [
        { role: 'user', content: [image, { type: 'text', text: 'hola, soy 12345678Z' }] },
        { role: 'assistant', content: [thinking, { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { id: '12345678Z', n: 4111111111111111 } }] },
      ],
    };
    const out = redactBody(body, new Redactor()) as typeof body;
    expect(out.messages[0]!.content[0]).toBe(image);
    expect(out.messages[0]!.content[1]).toEqual({ type: 'text', text: 'hola, soy <DNI_1>' });
    expect(out.messages[1]!.content[0]).toBe(thinking);
    // Inside the caller's data even an `id` key is data.
    expect(out.messages[1]!.content[1]).toMatchObject({ id: 'toolu_1', input: { id: '<DNI_1>', n: '<CARD_1>' } });
    expect(out.metadata.user_id).toBe('<EMAIL_1>');
  });

  it('Gemini: functionCall args and functionResponse response are data; inlineData and thought signatures stay', () => {
    const body = {
      systemInstruction: { parts: [{ text: 'IBAN ES91 2100 0418 4502 0005 1332' }] },
      contents: [
        { role: 'user', parts: [{ text: 'x' }, { inlineData: { mimeType: 'image/png', data: '4111111111111111' } }] },
        { role: 'model', parts: [{ functionCall: { name: 'f', args: { ip: '2001:db8::1' } }, thoughtSignature: 'sig4111111111111111' }] },
        { role: 'user', parts: [{ functionResponse: { name: 'f', response: { phone: '+1 (415) 555-2671' } } }] },
      ],
    };
    const out = redactBody(body, new Redactor());
    expect(JSON.stringify(out)).toBe(
      JSON.stringify(body).replace('ES91 2100 0418 4502 0005 1332', '<IBAN_1>').replace('2001:db8::1', '<IP_1>').replace('+1 (415) 555-2671', '<PHONE_1>'),
    );
  });

  it('a body without values is returned as the same object', () => {
    const body = { model: 'llama3.2', messages: [{ role: 'user', content: 'hello', images: ['4111111111111111'] }], options: { seed: 4111111111111111 } };
    expect(redactBody(body, new Redactor())).toBe(body);
  });
});

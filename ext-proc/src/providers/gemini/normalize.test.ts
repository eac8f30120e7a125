import { describe, expect, it } from 'vitest';
import { camelKey, normalizeRequest, normalizeSchema } from './normalize.js';

describe('camelKey', () => {
  it.each([
    ['system_instruction', 'systemInstruction'],
    ['max_output_tokens', 'maxOutputTokens'],
    ['text', 'text'],
    ['maxOutputTokens', 'maxOutputTokens'],
    ['response_mime_type', 'responseMimeType'],
    ['top_k', 'topK'],
  ])('%s → %s', (from, to) => expect(camelKey(from)).toBe(to));
});

describe('normalizeRequest', () => {
  it('renames message fields at every level but leaves free-form values alone', () => {
    const out = normalizeRequest({
      system_instruction: { parts: [{ text: 'x' }] },
      contents: [
        { role: 'model', parts: [{ function_call: { name: 'f', args: { snake_arg: 1, nested: { keep_me: true } } }, thought_signature: 's' }] },
        { role: 'user', parts: [{ function_response: { name: 'f', response: { result_value: 2 } } }, { inline_data: { mime_type: 'image/png', data: 'x' } }] },
      ],
      generation_config: {
        max_output_tokens: 5,
        thinking_config: { thinking_budget: 0 },
        response_schema: { type: 'OBJECT', properties: { user_name: { type: 'STRING', max_length: '3' } }, property_ordering: ['user_name'] },
        response_json_schema: { properties: { a_b: {} } },
      },
      tools: [{ function_declarations: [{ name: 'f', parameters_json_schema: { properties: { c_d: {} } } }], google_search: {} }],
      tool_config: { function_calling_config: { allowed_function_names: ['f'] } },
      safety_settings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', threshold: 'BLOCK_NONE' }],
    });
    expect(out).toEqual({
      systemInstruction: { parts: [{ text: 'x' }] },
      contents: [
        { role: 'model', parts: [{ functionCall: { name: 'f', args: { snake_arg: 1, nested: { keep_me: true } } }, thoughtSignature: 's' }] },
        { role: 'user', parts: [{ functionResponse: { name: 'f', response: { result_value: 2 } } }, { inlineData: { mimeType: 'image/png', data: 'x' } }] },
      ],
      generationConfig: {
        maxOutputTokens: 5,
        thinkingConfig: { thinkingBudget: 0 },
        responseSchema: { type: 'OBJECT', properties: { user_name: { type: 'STRING', maxLength: '3' } }, propertyOrdering: ['user_name'] },
        responseJsonSchema: { properties: { a_b: {} } },
      },
      tools: [{ functionDeclarations: [{ name: 'f', parametersJsonSchema: { properties: { c_d: {} } } }], googleSearch: {} }],
      toolConfig: { functionCallingConfig: { allowedFunctionNames: ['f'] } },
      safetySettings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', threshold: 'BLOCK_NONE' }],
    });
  });

  it('when both spellings are given the camelCase one wins, in either order', () => {
    expect(normalizeRequest({ generation_config: { top_k: 1 }, generationConfig: { topK: 2 } })).toEqual({ generationConfig: { topK: 2 } });
    expect(normalizeRequest({ generationConfig: { topK: 2 }, generation_config: { top_k: 1 } })).toEqual({ generationConfig: { topK: 2 } });
  });

  it('leaves non-objects as they are', () => {
    expect(normalizeRequest([1])).toEqual([1]);
    expect(normalizeRequest({ contents: 'x' })).toEqual({ contents: 'x' });
  });
});

describe('normalizeSchema', () => {
  it('keeps property names and enum values, renames schema fields in items and anyOf', () => {
    expect(
      normalizeSchema({
        type: 'ARRAY',
        items: {
          any_of: [
            { type: 'STRING', enum: ['snake_value'] },
            { type: 'OBJECT', properties: { my_prop: { min_items: '1' } } },
          ],
        },
      }),
    ).toEqual({
      type: 'ARRAY',
      items: {
        anyOf: [
          { type: 'STRING', enum: ['snake_value'] },
          { type: 'OBJECT', properties: { my_prop: { minItems: '1' } } },
        ],
      },
    });
  });
});

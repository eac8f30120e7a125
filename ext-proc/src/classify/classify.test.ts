import { DEFAULT_QUALITY_BIAS, decideTier, PRESET_DIALS } from './decide.js';
import { describe, expect, it } from 'vitest';
import { Classifier, classify, defaultWeightsPath, initClassifier } from './classify.js';
import { DEFAULT_LONG_CONTEXT_TOKENS, TOKENS_PER_IMAGE } from './features.js';
import { loadClassifierModel } from './model.js';
import type { ClassifyRequest } from './types.js';

const user = (content: unknown, extra: Partial<ClassifyRequest> = {}): ClassifyRequest => ({ messages: [{ role: 'user', content }], ...extra });

// Pasted texts written for these tests (not in the training or evaluation data).
const REPORT_EN = [
  'Annual Report of the Millbrook Community Garden Association',
  'The association closed the year with 212 members, up from 174, and a waiting list of 38 households for new plots.',
  'Volunteers logged 3,460 hours, most of them during the spring planting weekends and the October harvest fair.',
  'Our water bill rose by 18 percent after the city changed its tariffs, so the board installed two rainwater tanks with a grant from the county.',
  'The children’s program ran every Saturday from April to September and taught composting, seed saving and basic carpentry.',
  'Two plots were lost to the new bicycle path, and the association negotiated replacement land behind the library.',
  'Membership fees will stay at forty dollars next year, with reduced fees for students and retirees.',
].join('\n\n');
const REPORT_ES = [
  'Memoria anual de la Asociación del Huerto Comunitario de Valdeolmos',
  'La asociación cerró el año con 212 socios, frente a 174 el año anterior, y una lista de espera de 38 familias para nuevas parcelas.',
  'Los voluntarios registraron 3.460 horas, sobre todo en los fines de semana de siembra de primavera y en la feria de la cosecha de octubre.',
  'La factura del agua subió un 18 % después del cambio de tarifas municipales, por lo que la junta instaló dos depósitos de agua de lluvia con una subvención de la diputación.',
  'El programa infantil se celebró todos los sábados de abril a septiembre y enseñó compostaje, conservación de semillas y carpintería básica.',
  'Se perdieron dos parcelas por el nuevo carril bici y la asociación negoció un terreno de sustitución detrás de la biblioteca.',
  'Las cuotas se mantendrán en cuarenta euros el año que viene, con descuentos para estudiantes y jubilados.',
].join('\n\n');

describe('hard cases: the instruction decides the tier, not the length', () => {
  it.each([
    ['Prove that the sum of two odd numbers is even.', 'en'],
    ['Prove that there is no largest even number.', 'en'],
    ['Demuestra que la suma de dos números impares es par.', 'es'],
    ['Demuestra que no existe un número par mayor que todos los demás.', 'es'],
  ])('short proof request → complex: %s', (text, lang) => {
    const c = classify(user(text));
    expect(c.tier).toBe('complex');
    expect(c.domain).toBe('math');
    expect(c.language).toBe(lang);
  });

  it.each([
    [`${REPORT_EN}\n\nWhat is its title?`, 'en'],
    [`${REPORT_EN}\n\nHow many members does the association have?`, 'en'],
    [`${REPORT_ES}\n\n¿Cuál es su título?`, 'es'],
    [`${REPORT_ES}\n\n¿Cuántos socios tiene la asociación?`, 'es'],
  ])('long pasted text + a lookup question → simple (%#)', (text, lang) => {
    const c = classify(user(text));
    expect(c.tier).toBe('simple');
    expect(c.language).toBe(lang);
    expect(c.estimatedTokens).toBeGreaterThan(150);
  });

  it.each([
    [
      `${REPORT_EN}\n\nAct as the association's treasurer: analyze the financial risks implied here, model two scenarios for next year's budget with the water tariffs, and propose a fee policy with its trade-offs.`,
    ],
    [
      `${REPORT_ES}\n\nComo tesorero de la asociación, analiza los riesgos financieros que se deducen, modela dos escenarios de presupuesto con las nuevas tarifas del agua y propón una política de cuotas razonando sus ventajas e inconvenientes.`,
    ],
  ])('the same pasted text with a demanding instruction → complex (%#)', (text) => {
    expect(classify(user(text)).tier).toBe('complex');
  });

  const proof = [
    { role: 'user', content: 'Prove that every finite integral domain is a field.' },
    { role: 'assistant', content: 'Let R be a finite integral domain and a ≠ 0. The map x ↦ ax is injective, hence …' },
  ];

  it('reads the whole conversation: "thanks" after a proof is simple', () => {
    expect(classify({ messages: [...proof, { role: 'user', content: 'thanks, got it!' }] }).tier).toBe('simple');
  });

  // Known weakness of the model trained on the independent batches: a bare "continue" after a
  // proof is read as a short follow-up (the batches hold few such turns), not as the proof's
  // continuation the guide labels complex. The balanced dial still routes it above simple.
  it.fails('"continue" after a proof stays complex', () => {
    expect(classify({ messages: [...proof, { role: 'user', content: 'continue' }] }).tier).toBe('complex');
  });
  it('"continue" after a proof is routed above simple by the default dial', () => {
    const p = classify({ messages: [...proof, { role: 'user', content: 'continue' }] }).scores!.tier;
    expect(decideTier(p, PRESET_DIALS[DEFAULT_QUALITY_BIAS]).tier).not.toBe('simple');
  });
});

describe('capabilities', () => {
  it('tools: declared tools, or tool traffic in the conversation', () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];
    expect(classify(user('Weather in Oslo?', { tools })).capabilities.tools).toBe(true);
    expect(classify(user('Weather in Oslo?', { tools: [] })).capabilities.tools).toBe(false);
    expect(classify(user('Weather in Oslo?')).capabilities.tools).toBe(false);
    const chat: ClassifyRequest = {
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] } as never,
        { role: 'tool', content: '{"temp": 3}' },
        { role: 'user', content: 'And tomorrow?' },
      ],
    };
    expect(classify(chat).capabilities.tools).toBe(true);
  });

  it('vision: image parts anywhere in the conversation', () => {
    const withImage = user([
      { type: 'text', text: 'What breed is this dog?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
    ]);
    const c = classify(withImage);
    expect(c.capabilities.vision).toBe(true);
    expect(c.estimatedTokens).toBeGreaterThanOrEqual(TOKENS_PER_IMAGE);
    expect(classify(user([{ type: 'text', text: 'What breed is a beagle?' }])).capabilities.vision).toBe(false);
    const earlier: ClassifyRequest = {
      messages: [
        { role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] },
        { role: 'assistant', content: 'A beagle.' },
        { role: 'user', content: 'Is it a puppy?' },
      ],
    };
    expect(classify(earlier).capabilities.vision).toBe(true);
  });

  it('json: response_format json_object or json_schema', () => {
    expect(classify(user('List three colors', { response_format: { type: 'json_object' } })).capabilities.json).toBe(true);
    expect(classify(user('List three colors', { response_format: { type: 'json_schema', json_schema: { name: 'c', schema: {} } } })).capabilities.json).toBe(
      true,
    );
    expect(classify(user('List three colors', { response_format: { type: 'text' } })).capabilities.json).toBe(false);
    expect(classify(user('Answer in JSON: list three colors')).capabilities.json).toBe(false);
  });

  it('longContext: estimated tokens (plus max_tokens) against the threshold', () => {
    // ~4 characters per token: text(n) is about n / 4 tokens.
    const text = (chars: number) => 'lorem ipsum dolor sit amet consectetur '.repeat(Math.ceil(chars / 39));
    const small = classify(user(`${text(12_000)} What is this?`));
    expect(small.capabilities.longContext).toBe(false);
    const big = classify(user(`${text(160_000)} What is this?`));
    expect(big.estimatedTokens).toBeGreaterThan(DEFAULT_LONG_CONTEXT_TOKENS);
    expect(big.capabilities.longContext).toBe(true);
    // The threshold applies to estimatedTokens + max_tokens, and is configurable.
    const near = user(`${text(110_000)} Summarize it.`);
    const est = classify(near).estimatedTokens;
    expect(est).toBeLessThan(DEFAULT_LONG_CONTEXT_TOKENS);
    expect(classify({ ...near, max_tokens: DEFAULT_LONG_CONTEXT_TOKENS - est }).capabilities.longContext).toBe(true);
    expect(classify({ ...near, max_tokens: DEFAULT_LONG_CONTEXT_TOKENS - est - 1 }).capabilities.longContext).toBe(false);
    const strict = new Classifier(loadClassifierModel(defaultWeightsPath()), { longContextTokens: 2000 });
    expect(strict.classify(user(`${text(12_000)} What is this?`)).capabilities.longContext).toBe(true);
  });
});

describe('estimated tokens', () => {
  it('is about four characters per token for English prose, more for code and Spanish', () => {
    const prose = 'The quick brown fox jumps over the lazy dog while the farmer watches from the porch. '.repeat(48); // ~4,000 chars
    const est = classify(user(prose)).estimatedTokens;
    expect(est).toBeGreaterThan(prose.length / 4.4);
    expect(est).toBeLessThan(prose.length / 3.6);
    const code = 'for (let i = 0; i < n; i++) { sum += a[i] * b[i]; }\n'.repeat(80);
    expect(classify(user(code)).estimatedTokens).toBeGreaterThan(code.length / 4);
  });

  it('counts every message, tool definitions and a JSON schema', () => {
    const one = classify(user('Hello there, how are you?')).estimatedTokens;
    const two = classify({
      messages: [
        { role: 'system', content: 'You are a helpful assistant that answers briefly.' },
        { role: 'user', content: 'Hello there, how are you?' },
      ],
    }).estimatedTokens;
    expect(two).toBeGreaterThan(one + 10);
    const tools = [{ type: 'function', function: { name: 'lookup', description: 'Look something up in the internal knowledge base', parameters: {} } }];
    expect(classify(user('Hello there, how are you?', { tools })).estimatedTokens).toBeGreaterThan(one + 15);
  });
});

describe('the result', () => {
  it('has probabilities that sum to one and agree with the labels', () => {
    const c = classify(user('Write a haiku about autumn leaves.'));
    const t = Object.values(c.scores!.tier);
    const d = Object.values(c.scores!.domain);
    expect(t.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    expect(d.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    expect(c.scores!.tier[c.tier]).toBe(Math.max(...t));
    expect(c.scores!.domain[c.domain]).toBe(Math.max(...d));
    expect(c.domain).toBe('creative');
  });

  it('can leave the scores out', () => {
    const plain = new Classifier(loadClassifierModel(defaultWeightsPath()), { scores: false });
    expect(plain.classify(user('hi')).scores).toBeUndefined();
  });

  it('is deterministic and does not leak state between calls', () => {
    const a = classify(user('Translate "good night" into French.'));
    classify(user(`${REPORT_EN}\n\nCritically analyze this report in depth, step by step.`));
    expect(classify(user('Translate "good night" into French.'))).toEqual(a);
  });

  it('handles requests without a user turn or with empty content', () => {
    expect(() => classify({ messages: [] })).not.toThrow();
    expect(classify({ messages: [{ role: 'system', content: 'You are terse.' }] }).tier).toMatch(/simple|medium|complex/);
    expect(classify(user('')).estimatedTokens).toBeGreaterThanOrEqual(0);
  });

  it('initClassifier loads the shipped weights once and classify uses them', () => {
    const c = initClassifier();
    expect(c.model.rows).toBeGreaterThan(1000);
    expect(classify(user('What is 2 + 2?'))).toEqual(c.classify(user('What is 2 + 2?')));
  });
});

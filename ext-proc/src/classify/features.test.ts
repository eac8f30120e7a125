import { describe, expect, it } from 'vitest';
import { DENSE_NAMES, describeFeatures, featureFingerprint, segmentText } from './features.js';
import type { ClassifyRequest } from './types.js';

const user = (content: unknown): ClassifyRequest => ({ messages: [{ role: 'user', content }] });
const features = (text: string) => describeFeatures(user(text));

const ARTICLE_EN =
  'The old harbour of Port Elwen has been silent since the cannery closed in 1998. Fishing boats that once crowded the quay now sit on trailers in back gardens, and the ice house is a café that opens only in summer. '.repeat(
    10,
  );
const ARTICLE_ES =
  'El viejo puerto de Cabo Lirio está en silencio desde que cerró la conservera en 1998. Las barcas que antes llenaban el muelle descansan ahora en remolques, y la antigua fábrica de hielo es una cafetería que solo abre en verano. '.repeat(
    10,
  );

describe('language detection (stop-word counts)', () => {
  it.each([
    ['What is the capital of Australia?', 'en'],
    ['Can you explain how photosynthesis works for my daughter?', 'en'],
    ['¿Cuál es la capital de Australia?', 'es'],
    ['explicame como funciona la fotosintesis para mi hija', 'es'], // no accents, no ¿
    ['Necesito una consulta SQL que devuelva los clientes con más pedidos', 'es'],
    ['Quelle est la capitale du Portugal ? Je ne sais pas.', 'other'],
    ['Wie spät ist es in Tokio, wenn es in Berlin zwölf Uhr ist?', 'other'],
    ['東京の天気はどうですか', 'other'],
    ['```\nx = 1\n```', 'other'], // no words of any language
  ])('%s → %s', (text, lang) => {
    expect(features(text).language).toBe(lang);
  });

  it('follows the instruction, not the pasted text it is about', () => {
    expect(features(`Translate this into English:\n\n${ARTICLE_ES}`).language).toBe('en');
    expect(features(`Traduce esto al español:\n\n${ARTICLE_EN}`).language).toBe('es');
  });

  it('weights the last user turn over earlier turns and assistant text', () => {
    const req: ClassifyRequest = {
      messages: [
        { role: 'user', content: 'Write me a short poem about the sea, please.' },
        { role: 'assistant', content: 'The sea is wide and grey and cold, it keeps the stories never told.' },
        { role: 'user', content: '¿Y ahora me lo traduces al español, por favor?' },
      ],
    };
    expect(describeFeatures(req).language).toBe('es');
  });
});

describe('structure features', () => {
  it('detects fenced code and code-like lines', () => {
    const f = features('Why does this fail?\n\n```js\nfunction f(a) {\n  return a.map((x) => x * 2);\n}\nf(undefined);\n```').dense;
    expect(f.fence_last).toBe(1);
    expect(f.code_lines_last).toBeGreaterThan(0.3);
    expect(features('Why is the sky blue?').dense.fence_last).toBeUndefined();
  });

  it('detects math notation: LaTeX, symbols, equations', () => {
    expect(features('Evaluate $\\int_0^1 \\frac{1}{1+x^2} \\, dx$').dense.latex_last).toBeGreaterThan(0);
    expect(features('Compute ∫ x² dx and show that √2 ≤ 2').dense.math_symbols_last).toBeGreaterThan(0);
    expect(features('Solve 2x + 3 = 7 and 4y^2 = 16').dense.math_ops_last).toBeGreaterThan(0);
    const prose = features('Tell me about the history of Rome').dense;
    expect(prose.latex_last ?? 0).toBe(0);
    expect(prose.math_ops_last ?? 0).toBe(0);
  });

  it('detects lists, tables and CSV', () => {
    expect(features('Do this:\n1. open the file\n2. read it\n3. close it').dense.numbered_lines_last).toBeGreaterThan(0);
    expect(features('| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |').dense.table_pipes_last).toBeGreaterThan(0);
    expect(features('name,age,score\nAna,31,88\nBen,27,92\nCleo,45,75').dense.csv_lines_last).toBeGreaterThan(0);
  });

  it('reads question types at the start of a sentence, in both languages', () => {
    expect(features('What year did the Berlin Wall fall?').dense.q_factoid).toBe(1);
    expect(features('¿En qué año cayó el muro de Berlín?').dense.q_factoid).toBe(1);
    expect(features('Why do cats purr?').dense.q_explain).toBe(1);
    expect(features('¿Por qué ronronean los gatos?').dense.q_explain).toBe(1);
    expect(features('Is zero an even number?').dense.q_yesno).toBe(1);
  });

  it('finds multi-step and proof markers in English and Spanish', () => {
    expect(features('Solve it step by step').dense.steps_instr).toBeGreaterThan(0);
    expect(features('Resuélvelo paso a paso').dense.steps_instr).toBeGreaterThan(0);
    expect(features('First sort the list, then remove duplicates, finally print it').dense.first_then_instr).toBe(1);
    expect(features('Primero ordena la lista y luego quita los duplicados').dense.first_then_instr).toBe(1);
    expect(features('Prove that there are infinitely many primes.').dense.proof_instr).toBeGreaterThan(0);
    expect(features('Demuestra que hay infinitos primos.').dense.proof_instr).toBeGreaterThan(0);
    expect(features('Show that every bounded sequence has a convergent subsequence').dense.proof_instr).toBeGreaterThan(0);
    expect(features('What is a prime number?').dense.proof_instr).toBeUndefined();
  });

  it('counts explicit constraints', () => {
    expect(features('Write it in at most 50 words, without adjectives, and it must rhyme').dense.constraint_instr).toBeGreaterThan(0.5);
    expect(features('Escríbelo como máximo en 50 palabras, sin adjetivos, y debe rimar').dense.constraint_instr).toBeGreaterThan(0.5);
  });
});

describe('Portuguese, French and German cue words, answer form, requirements', () => {
  it.each([
    ['Mostre que existem infinitos números primos.', 'proof_instr'],
    ['Démontrez que la suite converge.', 'proof_instr'],
    ['Beweisen Sie, dass es unendlich viele Primzahlen gibt.', 'proof_instr'],
    ['Projete uma arquitetura escalável para o serviço de pagamentos.', 'design_instr'],
    ['Ce contrat de bail contient-il une clause abusive ?', 'legal_instr'],
    ['Welche Nebenwirkungen hat dieses Medikament?', 'medical_instr'],
    ['Übersetze diesen Absatz ins Englische.', 'translate_instr'],
    ['Return the result as a table, in JSON.', 'answerform_instr'],
    ['Devuélvelo en una tabla con formato markdown.', 'answerform_instr'],
    ['Also include the error handling, and make sure each endpoint is covered.', 'requirement_instr'],
  ])('%s → %s', (text, name) => {
    expect(features(text).dense[name]).toBeGreaterThan(0);
  });

  it('a plain question lights none of them', () => {
    const f = features('Quelle heure est-il à Tokyo ?').dense;
    for (const name of ['proof_instr', 'design_instr', 'answerform_instr', 'requirement_instr']) expect(f[name]).toBeUndefined();
  });
});

describe('instruction shape and character n-grams', () => {
  it('counts enumerated items, sentences and numbers of the instruction', () => {
    const f = features('Plan the migration.\n1. list the services\n2. order them by risk\n- give 3 options under 200 words').dense;
    expect(f.instr_items).toBeGreaterThan(0);
    expect(f.instr_numbers).toBeGreaterThan(0);
    expect(f.instr_sentences).toBeGreaterThanOrEqual(4 / 8);
    expect(f.instr_asks).toBeGreaterThan(0);
    const plain = features('What is the capital of Peru').dense;
    expect(plain.instr_items).toBeUndefined();
    expect(plain.instr_numbers).toBeUndefined();
    expect(plain.instr_sentences).toBe(1 / 8);
  });

  it('adds one 3-gram and one 4-gram per extra letter of an instruction word', () => {
    expect(features('abcdefg').hashedFeatures - features('abcdef').hashedFeatures).toBe(2);
  });

  it('reads n-grams from the instruction only, not from pasted material', () => {
    const a = features(`${ARTICLE_EN}\n\nWhat is its title?`).hashedFeatures;
    const b = features(`${ARTICLE_EN.replaceAll('trailers', 'caravantrailers')}\n\nWhat is its title?`).hashedFeatures;
    expect(b).toBe(a);
  });
});

describe('instruction vs pasted material', () => {
  it('a long pasted text with a final question: the question is the instruction', () => {
    const s = segmentText(`${ARTICLE_EN}\n\nWhat is its title?`);
    expect(s.instruction.join(' ')).toContain('What is its title?');
    expect(s.instruction.join(' ').length).toBeLessThan(400);
    expect(s.material.join('').length).toBeGreaterThan(ARTICLE_EN.length - 400);
  });

  it('an instruction on top of the pasted text', () => {
    const s = segmentText(`Resume este texto en dos frases:\n\n${ARTICLE_ES}\n\n${ARTICLE_ES}`);
    expect(s.instruction[0]).toBe('Resume este texto en dos frases:');
    expect(s.instruction.join(' ')).not.toContain('conservera en 1998. Las barcas');
  });

  it('one long paragraph: first and last sentences are the instruction', () => {
    const s = segmentText(`Here is an article. ${ARTICLE_EN} Who is the author?`);
    expect(s.instruction[0]).toBe('Here is an article.');
    expect(s.instruction.at(-1)).toBe('Who is the author?');
  });

  it('code fences and quotes are material even in a short message', () => {
    const s = segmentText('What does this print?\n\n```py\nprint(sum(range(10)))\n```');
    expect(s.instruction).toEqual(['What does this print?']);
    expect(s.material.join('')).toContain('print(sum(range(10)))');
  });

  it('a short message is all instruction', () => {
    expect(segmentText('Prove that √2 is irrational.')).toEqual({ instruction: ['Prove that √2 is irrational.'], material: [] });
  });

  it('length of the pasted material does not change the instruction features', () => {
    const short = features(`${ARTICLE_EN.slice(0, 700)}\n\nWhat is its title?`);
    const long = features(`${ARTICLE_EN}${ARTICLE_EN}\n\nWhat is its title?`);
    for (const name of ['instr_words_log', 'q_factoid', 'qmarks_instr', 'extract_instr']) expect(long.dense[name]).toBe(short.dense[name]);
    expect(long.dense.material_words_log).toBeGreaterThan(short.dense.material_words_log!);
  });
});

describe('feature space', () => {
  it('dense feature names are unique and the fingerprint is stable', () => {
    expect(new Set(DENSE_NAMES).size).toBe(DENSE_NAMES.length);
    expect(featureFingerprint()).toBe(featureFingerprint());
    expect(featureFingerprint()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}$/);
  });

  it('tolerates odd message shapes', () => {
    const odd: ClassifyRequest = {
      messages: [
        { role: 'system', content: null },
        { role: 'user', content: [{ type: 'text', text: 'hi' }, 42, null, { type: 'input_audio' }, 'plain string part'] },
        { role: 'assistant', content: undefined },
        { role: 'tool', content: { unexpected: true } },
      ],
    };
    expect(() => describeFeatures(odd)).not.toThrow();
    expect(() => describeFeatures({ messages: [] })).not.toThrow();
    expect(() => describeFeatures({ messages: undefined as unknown as [] })).not.toThrow();
  });
});

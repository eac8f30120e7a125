import { describe, expect, it } from 'vitest';
import { PlaceholderStream, restoreJsonText, restoreText } from './restore.js';

const ORIGINALS = new Map([
  ['<EMAIL_1>', 'ana@x.es'],
  ['<PHONE_1>', '+34 612 345 678'],
  ['<IP_12>', '10.0.0.1'],
]);

describe('restoreText / restoreJsonText', () => {
  it("puts back the call's values and leaves other placeholder-like text alone", () => {
    expect(restoreText('Mail <EMAIL_1> or <PHONE_1>; not <EMAIL_2>, <ip_12> nor <IP_12', ORIGINALS)).toBe(
      'Mail ana@x.es or +34 612 345 678; not <EMAIL_2>, <ip_12> nor <IP_12',
    );
    expect(restoreText('<IP_12>', ORIGINALS)).toBe('10.0.0.1');
  });

  it("inside JSON: Go's escaped angle brackets too, and values escaped as JSON", () => {
    const json = '{"text":"to <EMAIL_1> and \\u003cPHONE_1\\u003e and \\u003CIP_12\\u003E"}';
    expect(JSON.parse(restoreJsonText(json, ORIGINALS))).toEqual({ text: 'to ana@x.es and +34 612 345 678 and 10.0.0.1' });
    const quoted = new Map([['<EMAIL_1>', 'a"b\\c@x.es']]);
    expect(JSON.parse(restoreJsonText('{"t":"<EMAIL_1>"}', quoted))).toEqual({ t: 'a"b\\c@x.es' });
  });
});

describe('PlaceholderStream', () => {
  const text = 'Write to <EMAIL_1> or call <PHONE_1> (<IP_12>); x < y and <EM ok <EMAIL_2>.';
  const expected = restoreText(text, ORIGINALS);

  it('gives the same text whatever the cut, in two or three pieces', () => {
    for (let i = 0; i <= text.length; i++) {
      for (const j of [i, Math.min(text.length, i + 3), Math.min(text.length, i + 11)]) {
        const s = new PlaceholderStream(ORIGINALS);
        const out = s.push(text.slice(0, i)) + s.push(text.slice(i, j)) + s.push(text.slice(j)) + s.flush();
        expect(out, `cut at ${i}, ${j}`).toBe(expected);
      }
    }
  });

  it('character by character', () => {
    const s = new PlaceholderStream(ORIGINALS);
    let out = '';
    for (const ch of text) out += s.push(ch);
    expect(out + s.flush()).toBe(expected);
  });

  it('holds back only what could still become a placeholder', () => {
    const s = new PlaceholderStream(ORIGINALS);
    expect(s.push('Hello <')).toBe('Hello ');
    expect(s.push('EMA')).toBe('');
    expect(s.push('IL_1')).toBe('');
    expect(s.push('> bye <b>')).toBe('ana@x.es bye <b>');
    expect(s.holding).toBe(false);
    expect(s.push('a <X')).toBe('a <X');
    expect(s.push('1 < 2')).toBe('1 < 2');
    expect(s.push('<EMAIL_')).toBe('');
    expect(s.flush()).toBe('<EMAIL_');
  });
});

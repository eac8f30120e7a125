import { describe, expect, it } from 'vitest';
import { countPii, Redactor } from './redactor.js';
import type { Counts } from './types.js';

describe('Redactor', () => {
  it('numbers placeholders per type in order of appearance, and a repeated value keeps its placeholder', () => {
    const r = new Redactor();
    const out = r.redact('ana@x.es, luis@y.es and again ana@x.es; call +34 612 345 678');
    expect(out).toBe('<EMAIL_1>, <EMAIL_2> and again <EMAIL_1>; call <PHONE_1>');
    expect(r.counts).toEqual({ email: 3, phone: 1 });
    expect(r.found).toBe(4);
    expect([...r.originals]).toEqual([
      ['<EMAIL_1>', 'ana@x.es'],
      ['<EMAIL_2>', 'luis@y.es'],
      ['<PHONE_1>', '+34 612 345 678'],
    ]);
  });

  it('the same value written another way is the same value', () => {
    const r = new Redactor();
    expect(r.redact('ES91 2100 0418 4502 0005 1332 / ES9121000418450200051332 / Ana@X.es / ana@x.es')).toBe('<IBAN_1> / <IBAN_1> / <EMAIL_1> / <EMAIL_1>');
    // The way back gives the value as first written.
    expect(r.originals.get('<IBAN_1>')).toBe('ES91 2100 0418 4502 0005 1332');
  });

  it('placeholders stay stable across the texts of one call; a second look counts only new values', () => {
    const r = new Redactor();
    expect(r.redact('system: ana@x.es')).toBe('system: <EMAIL_1>');
    expect(r.redact('user: ana@x.es, 12345678Z', false)).toBe('user: <EMAIL_1>, <DNI_1>');
    expect(r.counts).toEqual({ email: 1, dni: 1 });
  });

  it('a text without values comes back as the same string', () => {
    const r = new Redactor();
    const text = 'Nothing personal here, order 12345, version 1.2.3.';
    expect(r.redact(text)).toBe(text);
    expect(r.found).toBe(0);
  });

  it('countPii counts without replacing', () => {
    const counts: Counts = {};
    countPii('ana@x.es ana@x.es 10.0.0.1', counts);
    expect(counts).toEqual({ email: 2, ip: 1 });
  });
});

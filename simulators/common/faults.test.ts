import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { dropHooksNotFor, hooksApply } from './faults.js';

const req = (headers: http.IncomingHttpHeaders): http.IncomingMessage => ({ headers: { ...headers } }) as http.IncomingMessage;

describe('x-sim-only', () => {
  it('applies the hooks everywhere without it', () => {
    expect(hooksApply(req({ 'x-sim-fail': '503' }), 'openai')).toBe(true);
    expect(hooksApply(req({}), undefined)).toBe(true);
  });

  it('applies them only to the kinds it names, in any case and spacing', () => {
    const r = req({ 'x-sim-only': ' Ollama , gemini' });
    expect(hooksApply(r, 'ollama')).toBe(true);
    expect(hooksApply(r, 'gemini')).toBe(true);
    expect(hooksApply(r, 'openai')).toBe(false);
    expect(hooksApply(r, undefined)).toBe(false);
  });

  it('drops the scoped hooks of a request they do not apply to, and only those', () => {
    const other = req({ 'x-sim-only': 'ollama', 'x-sim-fail': '503', 'x-sim-wire': 'html', 'x-sim-latency-ms': '50', 'x-keep': '1' });
    dropHooksNotFor(other, 'openai');
    expect(other.headers).toEqual({ 'x-sim-only': 'ollama', 'x-keep': '1' });
    const mine = req({ 'x-sim-only': 'ollama', 'x-sim-fail': '503' });
    dropHooksNotFor(mine, 'ollama');
    expect(mine.headers['x-sim-fail']).toBe('503');
  });
});

import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { MAX_LATENCY_MS, requestLatency } from './latency.js';

const req = (headers: http.IncomingHttpHeaders): http.IncomingMessage => ({ headers }) as http.IncomingMessage;

describe('requestLatency', () => {
  it('takes x-sim-latency-ms over the default', () => {
    expect(requestLatency(req({ 'x-sim-latency-ms': '250' }), 10)).toBe(250);
    expect(requestLatency(req({ 'x-sim-latency-ms': '0' }), 10)).toBe(0);
    expect(requestLatency(req({}), 10)).toBe(10);
  });

  it('keeps the default for a value that is not a non-negative number', () => {
    for (const v of ['-1', 'soon', 'Infinity']) expect(requestLatency(req({ 'x-sim-latency-ms': v }), 7)).toBe(7);
  });

  it('caps the latency a request may ask for', () => {
    expect(requestLatency(req({ 'x-sim-latency-ms': String(MAX_LATENCY_MS * 10) }), 0)).toBe(MAX_LATENCY_MS);
  });
});

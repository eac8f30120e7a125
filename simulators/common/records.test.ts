import { describe, expect, it } from 'vitest';
import { MAX_RECORDED_REQUESTS, recordRequest, type RequestRecord } from './records.js';

const rec = (i: number): RequestRecord => ({ method: 'GET', path: `/${i}`, headers: {}, body: undefined });

describe('recordRequest', () => {
  it('returns the record, so usage can be filled in once decided', () => {
    const log: RequestRecord[] = [];
    const r = recordRequest(log, rec(1));
    r.usage = { input: 3, output: 4 };
    expect(log[0]?.usage).toEqual({ input: 3, output: 4 });
  });

  it('keeps the most recent MAX_RECORDED_REQUESTS', () => {
    const log: RequestRecord[] = [];
    for (let i = 1; i <= MAX_RECORDED_REQUESTS + 5; i++) recordRequest(log, rec(i));
    expect(log).toHaveLength(MAX_RECORDED_REQUESTS);
    expect(log[0]?.path).toBe('/6');
    expect(log.at(-1)?.path).toBe(`/${MAX_RECORDED_REQUESTS + 5}`);
  });
});

import { describe, expect, it } from 'vitest';
import { Member } from './member.js';
import type { VllmLoad } from './vllm-metrics.js';

const load = (running: number, waiting = 0): VllmLoad => ({ running, waiting, kvCacheUsage: 0, runningAdapters: [], waitingAdapters: [], maxLora: undefined });

describe('Member in-flight accounting', () => {
  it('counts requests in flight, and each end once per begin', () => {
    const m = new Member('10.0.0.1:8000', 'http://10.0.0.1:8000/metrics', 8, false, 1);
    const a = m.begin();
    const b = m.begin();
    expect(m.inFlight).toBe(2);
    m.end(a);
    m.end(b);
    expect(m.inFlight).toBe(0);
    expect(m.unseen).toBe(0);
  });

  it('requests sent before a scrape started are in its numbers; those sent during or after are not', () => {
    const m = new Member('10.0.0.1:8000', 'http://10.0.0.1:8000/metrics', 8, false, 1);
    m.begin();
    m.begin();
    expect(m.unseen).toBe(2);
    const gen = m.scrapeStarting();
    const late = m.begin(); // sent while the scrape is on its way
    m.scraped(gen, load(2), 0);
    expect(m.unseen).toBe(1);
    m.end(late);
    expect(m.unseen).toBe(0);
    expect(m.inFlight).toBe(2);
  });

  it('an old request ending does not lower the count of unseen ones', () => {
    const m = new Member('10.0.0.1:8000', 'http://10.0.0.1:8000/metrics', 8, false, 1);
    const old = m.begin();
    const gen = m.scrapeStarting();
    m.scraped(gen, load(1), 0);
    m.begin();
    expect(m.unseen).toBe(1);
    m.end(old);
    expect(m.unseen).toBe(1);
  });

  it('after failed scrapes, everything since the last good one stays unseen', () => {
    const m = new Member('10.0.0.1:8000', 'http://10.0.0.1:8000/metrics', 8, false, 1);
    const g1 = m.scrapeStarting();
    m.scraped(g1, load(0), 0);
    m.begin();
    m.scrapeStarting();
    m.scrapeFailed();
    m.begin();
    expect(m.unseen).toBe(2);
    expect(m.failures).toBe(1);
    const g3 = m.scrapeStarting();
    m.scraped(g3, load(2), 0);
    expect(m.unseen).toBe(0);
    expect(m.failures).toBe(0);
  });

  it('freshness is the age of the last good scrape', () => {
    const m = new Member('10.0.0.1:8000', 'http://10.0.0.1:8000/metrics', 8, false, 1);
    expect(m.fresh(0, 3000)).toBe(false);
    m.scraped(m.scrapeStarting(), load(0), 1000);
    expect(m.fresh(4000, 3000)).toBe(true);
    expect(m.fresh(4001, 3000)).toBe(false);
  });
});

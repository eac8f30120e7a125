import { describe, expect, it } from 'vitest';
import { Member } from './member.js';
import type { VllmLoad } from './vllm-metrics.js';

const load = (running: number, waiting = 0, e2e?: [number, number], queue?: [number, number]): VllmLoad => ({
  running,
  waiting,
  kvCacheUsage: 0,
  runningAdapters: [],
  waitingAdapters: [],
  maxLora: undefined,
  e2e: e2e && { sum: e2e[0], count: e2e[1] },
  queue: queue && { sum: queue[0], count: queue[1] },
});

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

describe('Member service time', () => {
  const member = () => new Member('10.0.0.1:8000', 'http://10.0.0.1:8000/metrics', 8, false, 1);

  it('learns the mean time a finished request was served, queue excluded, between two scrapes', () => {
    const m = member();
    m.scraped(m.scrapeStarting(), load(0, 0, [100, 50], [20, 50]), 0);
    expect(m.serviceSeconds).toBeUndefined(); // one scrape: no interval yet
    // 4 finished: 10 s from arrival to end, 2 s of it queued.
    m.scraped(m.scrapeStarting(), load(0, 0, [110, 54], [22, 54]), 1000);
    expect(m.serviceSeconds).toBe(2);
  });

  it('moves the average by how many requests finished', () => {
    const m = member();
    m.scraped(m.scrapeStarting(), load(0, 0, [0, 0]), 0);
    m.scraped(m.scrapeStarting(), load(0, 0, [2, 2]), 1); // 1 s each
    m.scraped(m.scrapeStarting(), load(0, 0, [5, 3]), 2); // one of 3 s: 10% of the way
    expect(m.serviceSeconds).toBeCloseTo(1.2);
    m.scraped(m.scrapeStarting(), load(0, 0, [35, 13]), 3); // ten of 3 s: 1 - 0.9^10 of the way
    expect(m.serviceSeconds).toBeCloseTo(1.2 + (1 - 0.9 ** 10) * 1.8);
  });

  it('learns nothing from a scrape where nothing finished, or from counters that went back', () => {
    const m = member();
    m.scraped(m.scrapeStarting(), load(0, 0, [10, 10]), 0);
    m.scraped(m.scrapeStarting(), load(0, 0, [10, 10]), 1);
    expect(m.serviceSeconds).toBeUndefined();
    m.scraped(m.scrapeStarting(), load(0, 0, [1, 1]), 2); // restarted
    expect(m.serviceSeconds).toBeUndefined();
    m.scraped(m.scrapeStarting(), load(0, 0, [3, 2]), 3);
    expect(m.serviceSeconds).toBe(2);
  });

  it('without the queue histogram, counts the whole request', () => {
    const m = member();
    m.scraped(m.scrapeStarting(), load(0, 0, [0, 0]), 0);
    m.scraped(m.scrapeStarting(), load(0, 0, [6, 4]), 1);
    expect(m.serviceSeconds).toBe(1.5);
  });
});

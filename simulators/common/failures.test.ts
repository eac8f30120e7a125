import type http from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { BASE_FAILURE_KINDS, failEvery, injectFailure, parseFailHeader, pickFailure, retryAfterHeaders, type FailDirective } from './failures.js';

const req = (headers: http.IncomingHttpHeaders): http.IncomingMessage => ({ headers }) as http.IncomingMessage;
const fakeRes = () => ({ destroy: vi.fn() }) as unknown as http.ServerResponse & { destroy: ReturnType<typeof vi.fn> };

describe('parseFailHeader', () => {
  it('reads the base kinds, in any case and with spaces around', () => {
    expect(parseFailHeader('hang', BASE_FAILURE_KINDS)).toEqual({ kind: 'hang' });
    expect(parseFailHeader(' Reset ', BASE_FAILURE_KINDS)).toEqual({ kind: 'reset' });
    expect(parseFailHeader('MIDSTREAM', BASE_FAILURE_KINDS)).toEqual({ kind: 'midstream' });
  });

  it('reads a status from 200 to 599', () => {
    expect(parseFailHeader('429', BASE_FAILURE_KINDS)).toEqual({ kind: 'status', status: 429 });
    expect(parseFailHeader('200', BASE_FAILURE_KINDS)).toEqual({ kind: 'status', status: 200 });
    expect(parseFailHeader('599', BASE_FAILURE_KINDS)).toEqual({ kind: 'status', status: 599 });
  });

  it('ignores anything else, including kinds the simulator did not name', () => {
    for (const v of [undefined, '', '199', '600', '5000', '50', 'explode', 'stream-error']) {
      expect(parseFailHeader(v, BASE_FAILURE_KINDS)).toBeUndefined();
    }
  });

  it('reads the kinds a simulator adds', () => {
    expect(parseFailHeader('stream-error', [...BASE_FAILURE_KINDS, 'stream-error'])).toEqual({ kind: 'stream-error' });
  });
});

describe('failEvery', () => {
  it('defaults to never, with status 500', () => {
    expect(failEvery({})).toEqual({ every: 0, status: 500 });
  });

  it('rounds down and keeps negative values at never', () => {
    expect(failEvery({ failEvery: 3.7, failStatus: 503 })).toEqual({ every: 3, status: 503 });
    expect(failEvery({ failEvery: -2 })).toEqual({ every: 0, status: 500 });
  });
});

describe('pickFailure', () => {
  const schedule = { every: 3, status: 502 };

  it('fails every Nth counted request with the configured status', () => {
    const picked = [1, 2, 3, 4, 5, 6].map((n) => pickFailure(req({}), BASE_FAILURE_KINDS, schedule, n));
    expect(picked).toEqual([undefined, undefined, { kind: 'status', status: 502 }, undefined, undefined, { kind: 'status', status: 502 }]);
  });

  it('lets the header win over the schedule', () => {
    expect(pickFailure(req({ 'x-sim-fail': 'reset' }), BASE_FAILURE_KINDS, schedule, 3)).toEqual({ kind: 'reset' });
  });

  it('never schedules a failure for a request that is not counted, or with every 0', () => {
    expect(pickFailure(req({}), BASE_FAILURE_KINDS, schedule, undefined)).toBeUndefined();
    expect(pickFailure(req({}), BASE_FAILURE_KINDS, { every: 0, status: 500 }, 3)).toBeUndefined();
    expect(pickFailure(req({ 'x-sim-fail': '418' }), BASE_FAILURE_KINDS, schedule, undefined)).toEqual({ kind: 'status', status: 418 });
  });
});

describe('injectFailure', () => {
  const answer = (present = true) => ({ delay: vi.fn(async () => present), status: vi.fn(async () => {}) });

  it('leaves a request without a directive to be answered', async () => {
    const res = fakeRes();
    const a = answer();
    expect(await injectFailure(undefined, res, a)).toBe(false);
    expect(a.delay).not.toHaveBeenCalled();
  });

  it("hang: takes the answer's place and does nothing", async () => {
    const res = fakeRes();
    const a = answer();
    expect(await injectFailure({ kind: 'hang' }, res, a)).toBe(true);
    expect(a.delay).not.toHaveBeenCalled();
    expect(res.destroy).not.toHaveBeenCalled();
  });

  it('reset: destroys the connection after the latency, unless the client left meanwhile', async () => {
    const res = fakeRes();
    expect(await injectFailure({ kind: 'reset' }, res, answer())).toBe(true);
    expect(res.destroy).toHaveBeenCalledTimes(1);
    const gone = fakeRes();
    expect(await injectFailure({ kind: 'reset' }, gone, answer(false))).toBe(true);
    expect(gone.destroy).not.toHaveBeenCalled();
  });

  it("status: hands the status to the provider's error answer", async () => {
    const a = answer();
    expect(await injectFailure({ kind: 'status', status: 503 }, fakeRes(), a)).toBe(true);
    expect(a.status).toHaveBeenCalledWith(503);
  });

  it("leaves midstream and a simulator's own kinds to the answer", async () => {
    const a = answer();
    expect(await injectFailure({ kind: 'midstream' }, fakeRes(), a)).toBe(false);
    const own: FailDirective<'stream-error'> = { kind: 'stream-error' };
    expect(await injectFailure(own, fakeRes(), a)).toBe(false);
    expect(a.delay).not.toHaveBeenCalled();
    expect(a.status).not.toHaveBeenCalled();
  });
});

describe('retryAfterHeaders', () => {
  it('adds retry-after to a 429 only', () => {
    expect(retryAfterHeaders(429)).toEqual({ 'retry-after': '1' });
    expect(retryAfterHeaders(503)).toBeUndefined();
  });
});

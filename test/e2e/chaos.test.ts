/*
 * Faults under load, a short fixed sample of `npm run chaos` (scripts/chaos/): the scenario
 * functions run here directly, with a few seconds of load at a low rate each. Real Envoy, the
 * processor supervised as `npm start` runs it, the provider simulators.
 *
 *   - kill -9 the processor mid-load: the calls get 503s in their own API until the supervisor's
 *     new processor serves, within 15 s; no 200 loses its usage record;
 *   - the fallback chain's first members answer 429 / 500 / 503 or reset mid-load: the chain
 *     absorbs every call;
 *   - Redis hangs (SIGSTOP) mid-load: limits fail closed (503) or the call succeeds, never a hang
 *     or a 500;
 *   - a call already upstream when its processor is killed: a 503 in its own API, not Envoy's
 *     bare 500.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { judgeErrorBody } from '../../scripts/chaos/calls.js';
import type { CallRecord } from '../../scripts/chaos/load.js';
import { caughtByKill, runScenario } from '../../scripts/chaos/scenarios.js';
import { startLocalStack } from '../../scripts/lib/local-stack.js';

const SAMPLE = { seconds: 4, rps: 10, workers: 1, consecutive: 5, recoveryBoundS: 15, extendS: 15 };
/** The chain and Redis samples need less load after their fault. */
const SHORT = { ...SAMPLE, seconds: 3 };
const describeCall = (r: CallRecord) => `${r.api}${r.stream ? ' stream' : ''} ${r.model} at ${r.sentS.toFixed(2)} s: ${r.cls} ${r.detail ?? ''}`;
const failClosed = (r: CallRecord) => r.status === 503 && r.shapeOk === true;

describe('faults under load (sample of npm run chaos)', () => {
  it("kill -9 the processor: 503s in the caller's API meanwhile, back within 15 s, no usage record lost", async () => {
    const { report, records } = await runScenario('processor-kill', SAMPLE);
    const s = report.summary;
    const gone = report.timeline.goneS ?? report.timeline.injectS;
    // The fault bit: calls were refused while no processor was there.
    expect(s.expectedErrors).toBeGreaterThan(0);
    // Once the processor was gone, every failure is a 503 in the caller's own API: no other 5xx,
    // no bare Envoy answer, no connection failure.
    expect(records.filter((r) => r.sentS >= gone && !r.ok && !failClosed(r)).map(describeCall)).toEqual([]);
    // Calls caught in flight: a 503 as above, or a stream already flowing can only be cut.
    const caught = caughtByKill(records, report.timeline).filter((r) => !r.ok && !failClosed(r));
    expect(caught.filter((r) => r.cls !== 'conn reset mid-body').map(describeCall)).toEqual([]);
    expect(s.recoveryS).not.toBeNull();
    expect(s.recoveryS!).toBeLessThanOrEqual(15);
    expect(s.lostUsage).toBe(0);
    expect(s.usageMismatch).toBe(0);
  }, 45_000);

  it('chain members answering 429, 500, 503 or resetting mid-load: the chain absorbs every call', async () => {
    const { report, records } = await runScenario('chain-mixed', SHORT);
    const faulted = records.filter((r) => r.fault !== undefined);
    expect(faulted.length).toBeGreaterThan(5);
    expect(records.filter((r) => !r.ok).map(describeCall)).toEqual([]);
    // Answered past the failing members, by the chain's healthy last member.
    expect(new Set(faulted.map((r) => r.provider))).toEqual(new Set(['gemini']));
    expect(report.summary.lostUsage).toBe(0);
    expect(report.summary.usageMismatch).toBe(0);
  }, 30_000);

  it('Redis hangs for 1.5 s mid-load: 503 limits_unavailable or success, never a hang or a 500', async () => {
    const { report, records } = await runScenario('redis-slow', SHORT);
    const s = report.summary;
    expect(s.expectedErrors).toBeGreaterThan(0);
    expect(records.filter((r) => !r.ok && !failClosed(r)).map(describeCall)).toEqual([]);
    // The OpenAI callers see the gateway's own code.
    expect(new Set(records.filter((r) => !r.ok && r.api === 'openai').map((r) => r.code))).toEqual(new Set(['limits_unavailable']));
    expect(s.slowCalls).toBe(0);
    expect(s.recoveryS).not.toBeNull();
    expect(s.lostUsage).toBe(0);
  }, 30_000);

  // A call whose request the processor has already sent upstream when the processor dies: Envoy's
  // ext_proc filter fails it with a 500 of its own (details `ext_proc_error_gRPC_error_13{...}`),
  // which envoy/bootstrap.ts maps by the caller_api metadata the processor set when forwarding.
  const inFlight = [
    {
      api: 'openai' as const,
      path: '/v1/chat/completions',
      headers: (key: string) => ({ authorization: `Bearer ${key}` }),
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'in flight' }] },
    },
    {
      api: 'anthropic' as const,
      path: '/v1/messages',
      headers: (key: string) => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01' }),
      body: { model: 'gpt-4o-mini', max_tokens: 64, messages: [{ role: 'user', content: 'in flight' }] },
    },
  ];
  it.each(inFlight)(
    "a $api call already upstream when its processor is killed gets a 503 in the caller's API",
    async (c) => {
      const key = 'gw-key-chaos-inflight';
      const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-chaos-inflight-'));
      const stack = await startLocalStack({
        env: { GATEWAY_KEYS: `t:${key}`, CACHE_TTL_SECONDS: '0', LOG_LEVEL: 'fatal' },
        log: pino({ level: 'silent' }),
        demo: true,
        processorProcess: { workers: 1 },
        accessLog: path.join(dir, 'access.log'),
      });
      try {
        const before = stack.simulator!.requestCount();
        const answer = fetch(`${stack.gatewayUrl}${c.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...c.headers(key), 'x-sim-latency-ms': '3000' },
          body: JSON.stringify(c.body),
        }).then(async (r) => ({ status: r.status, body: await r.text() }));
        const deadline = Date.now() + 10_000;
        while (stack.simulator!.requestCount() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(stack.simulator!.requestCount()).toBeGreaterThan(before);
        process.kill(stack.processor!.pid()!, 'SIGKILL');
        const { status, body } = await answer;
        expect({ status, body, shape: judgeErrorBody(c.api, body) }).toMatchObject({ status: 503, shape: { shapeOk: true } });
        expect(body).toContain('its processor is unavailable');
      } finally {
        await stack.close(500);
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ExtProcRequest, ExtProcResponse } from './codec/messages.js';
import { registerPhaseMetrics } from './phase-metrics.js';

const headers = (kind: 'request_headers' | 'response_headers'): ExtProcRequest => ({ kind, headers: {}, endOfStream: false }) as ExtProcRequest;
const body = (kind: 'request_body' | 'response_body'): ExtProcRequest => ({ kind, body: Buffer.alloc(0), endOfStream: true }) as ExtProcRequest;
const answer = (kind: ExtProcResponse['kind']): ExtProcResponse =>
  (kind === 'immediate' ? { kind, status: 401, headers: [], body: Buffer.alloc(0), details: 'x' } : { kind, response: {} }) as ExtProcResponse;

/** The histogram's samples (each a bucket, sum or count series). */
async function samples(registry: Registry): Promise<Array<{ metricName?: string; labels: Partial<Record<string, string | number>>; value: number }>> {
  return (await registry.getSingleMetric('llm_gateway_ext_proc_phase_seconds')!.get()).values;
}

async function counts(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of await samples(registry)) if (v.metricName === 'llm_gateway_ext_proc_phase_seconds_count') out[v.labels.phase as string] = v.value;
  return out;
}

describe('ext_proc phase timing', () => {
  it('times each answer from the message that let the processor give it, by phase', async () => {
    const registry = new Registry();
    const timers = registerPhaseMetrics(registry, () => 0);
    const clock = timers.clock();
    // The gateway's mode: headers and a two-chunk body in, then three answers together.
    clock.received(headers('request_headers'));
    clock.received(body('request_body'));
    await new Promise((r) => setTimeout(r, 20));
    clock.received(body('request_body'));
    for (const k of ['request_headers', 'request_body', 'request_body'] as const) clock.answered(answer(k));
    clock.received(headers('response_headers'));
    clock.answered(answer('response_headers'));
    clock.received(body('response_body'));
    clock.answered(answer('response_body'));
    expect(await counts(registry)).toEqual({ request_headers: 1, request_body: 2, response_headers: 1, response_body: 1 });
    // Timed from the last chunk, not from the headers 20 ms before it.
    const sum = (await samples(registry)).find((v) => v.metricName === 'llm_gateway_ext_proc_phase_seconds_sum' && v.labels.phase === 'request_headers')!.value;
    expect(sum).toBeLessThan(0.015);
  });

  it('counts an immediate response in the phase it answered, and trailers in none', async () => {
    const registry = new Registry();
    const clock = registerPhaseMetrics(registry, () => 0).clock();
    clock.answered(answer('request_headers')); // nothing received yet: not timed
    clock.received(headers('request_headers'));
    clock.answered(answer('immediate'));
    clock.received({ kind: 'request_trailers' } as ExtProcRequest);
    clock.answered(answer('request_trailers'));
    expect(await counts(registry)).toEqual({ request_headers: 1 });
  });

  it('shows the streams open now', async () => {
    const registry = new Registry();
    let open = 3;
    registerPhaseMetrics(registry, () => open);
    const value = async () => (await registry.getSingleMetric('llm_gateway_ext_proc_streams_in_flight')!.get()).values[0]?.value;
    expect(await value()).toBe(3);
    open = 0;
    expect(await value()).toBe(0);
  });
});

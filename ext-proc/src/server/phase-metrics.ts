import { performance } from 'node:perf_hooks';
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { ExtProcRequest, ExtProcResponse } from './codec/messages.js';

export const PHASES = ['request_headers', 'request_body', 'response_headers', 'response_body'] as const;
export type PhaseName = (typeof PHASES)[number];

/** The processor's share of a call is sub-millisecond when all is well: fine buckets there. */
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Per-phase timers, bound once; one `PhaseClock` per stream uses them. */
export interface PhaseTimers {
  clock(): PhaseClock;
}

/**
 * `llm_gateway_ext_proc_phase_seconds` and `llm_gateway_ext_proc_streams_in_flight` on the
 * registry; `streams` is read at scrape time.
 */
export function registerPhaseMetrics(registry: Registry, streams: () => number): PhaseTimers {
  const histogram = new Histogram({
    name: 'llm_gateway_ext_proc_phase_seconds',
    help: 'Processor time answering one ext_proc message, by phase: from the message that let it answer to the answer going out.',
    labelNames: ['phase'],
    buckets: BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'llm_gateway_ext_proc_streams_in_flight',
    help: 'ext_proc streams open now (calls Envoy is processing through this processor).',
    aggregator: 'sum',
    registers: [registry],
    collect() {
      this.set(streams());
    },
  });
  const bound = Object.fromEntries(PHASES.map((p) => [p, histogram.labels({ phase: p })])) as Record<PhaseName, Histogram.Internal<string>>;
  return { clock: () => new PhaseClock(bound) };
}

function isPhase(kind: string): kind is PhaseName {
  return kind === 'request_headers' || kind === 'request_body' || kind === 'response_headers' || kind === 'response_body';
}

/**
 * Times one stream's answers. An answer is timed from the latest message received, the one that
 * let the processor answer: with the gateway's filter configuration the request headers are
 * answered once the body is whole, and a whole response once its last chunk is in, so timing from
 * the headers' arrival would count the caller's upload and the provider's answer as processing.
 * An immediate response answers the phase of that latest message.
 */
export class PhaseClock {
  private lastAt = 0;
  private lastPhase: PhaseName | undefined;

  constructor(private readonly timers: Record<PhaseName, Histogram.Internal<string>>) {}

  received(m: ExtProcRequest): void {
    this.lastAt = performance.now();
    this.lastPhase = isPhase(m.kind) ? m.kind : undefined;
  }

  answered(r: ExtProcResponse): void {
    const phase = r.kind === 'immediate' ? this.lastPhase : isPhase(r.kind) ? r.kind : undefined;
    if (phase === undefined || this.lastAt === 0) return;
    this.timers[phase].observe((performance.now() - this.lastAt) / 1000);
  }
}

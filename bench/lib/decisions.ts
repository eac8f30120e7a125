/**
 * Per-request decisions the processor makes in process, timed apart from the proxy scenarios:
 * the request classifier (4,000- and 30,000-character prompts; budgets 0.2 ms and 1 ms) and the
 * prompt-injection guard (4,000 characters; budget 0.3 ms). Median of rounds, in µs, on the CPUs
 * this process runs on.
 */
import { Classifier, defaultWeightsPath } from '../../ext-proc/src/classify/classify.js';
import { loadClassifierModel } from '../../ext-proc/src/classify/model.js';
import type { ClassifyRequest } from '../../ext-proc/src/classify/types.js';
import type { CanonicalRequest } from '../../ext-proc/src/providers/canonical/types.js';
import { loadPromptGuard } from '../../ext-proc/src/safety/guard/verdict.js';
import { timePerCall } from '../../scripts/lib/per-call-time.js';

export interface DecisionTimes {
  classifier4kMicros: number;
  classifier30kMicros: number;
  guard4kMicros: number;
}

const PARA =
  'The steering group went through the migration plan line by line and agreed that the billing service moves last, after the ledger has run in parallel for a full month. ' +
  'Two open questions remain: who owns the reconciliation reports during the overlap, and whether the old export job can be switched off before the auditors sign off. ';

function prose(chars: number, ask: string): string {
  let body = '';
  while (body.length < chars - ask.length - 2) body += PARA;
  return `${body.slice(0, chars - ask.length - 2)}\n\n${ask}`;
}

/** Median µs per call, one decimal. */
function medianMicros(fn: () => void, perRound = 300, rounds = 15): number {
  return Number(timePerCall(fn, { warmup: perRound, perRound, rounds }).wallMedianMicros.toFixed(1));
}

export function measureDecisions(): DecisionTimes {
  const clf = new Classifier(loadClassifierModel(defaultWeightsPath()));
  const req = (chars: number): ClassifyRequest => ({ messages: [{ role: 'user', content: prose(chars, 'What are the two open questions?') }] });
  const r4 = req(4000);
  const r30 = req(30_000);
  const guard = loadPromptGuard();
  const g4: CanonicalRequest = {
    model: 'm',
    messages: [{ role: 'user', content: [{ type: 'text', text: prose(4000, 'Summarise this for the team.') }] }],
    stream: false,
    sameFormatOnly: [],
  };
  return {
    classifier4kMicros: medianMicros(() => clf.classify(r4)),
    classifier30kMicros: medianMicros(() => clf.classify(r30), 100),
    guard4kMicros: medianMicros(() => guard.check(g4)),
  };
}

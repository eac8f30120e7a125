/*
 * What the router adds to an `auto` call inside the processor: classifying a 4,000-character
 * prompt and choosing its model, timed in process (no network), many times over. Issue budget:
 * 0.2 ms per decision.
 */
import path from 'node:path';
import { loadCatalog } from '../../ext-proc/src/catalog/load.js';
import { classifyRequestOf } from '../../ext-proc/src/classify/from-canonical.js';
import { initClassifier } from '../../ext-proc/src/classify/index.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { openaiFormat } from '../../ext-proc/src/providers/openai/index.js';
import { Affinity } from '../../ext-proc/src/route/affinity.js';
import { LatencyTracker } from '../../ext-proc/src/route/latency.js';
import { loadRoutingConfig } from '../../ext-proc/src/route/policy.js';
import { ProviderQuotas } from '../../ext-proc/src/route/provider-quota.js';
import { Router } from '../../ext-proc/src/route/router.js';

export interface DecisionCost {
  promptChars: number;
  iterations: number;
  classifyUs: { p50: number; p99: number };
  decisionUs: { p50: number; p99: number };
  tier: string;
  model: string;
}

const PARAGRAPH =
  'Our quarterly report covers revenue across three regions, with notes on churn, hiring and the new pricing tiers. ' +
  'The appendix lists every customer segment with its growth rate, and the board asked for a short summary of risks. ';

export function measureDecisionCost(iterations = 3000, chars = 4000): DecisionCost {
  const root = repoRoot();
  const catalog = loadCatalog(path.join(root, 'models', 'catalog.yaml'));
  const routing = loadRoutingConfig(path.join(root, 'models', 'routing.yaml'), (n) => catalog.find(n)?.id, [...catalog.providers.keys()]);
  const policy = routing.policies.get('default')!;
  const classifier = initClassifier();
  const router = new Router(catalog, { latency: new LatencyTracker(), quotas: new ProviderQuotas(new Map()), affinity: new Affinity() });
  const text = (PARAGRAPH.repeat(Math.ceil(chars / PARAGRAPH.length)).slice(0, chars - 60) + ' What are the three biggest risks, in one line each?').slice(0, chars);
  const req = openaiFormat.parseRequest({ model: 'auto', messages: [{ role: 'system', content: 'You are an analyst.' }, { role: 'user', content: text }] }, {});
  const classifyNs: number[] = [];
  const decisionNs: number[] = [];
  let last = { tier: '', model: '' };
  for (let i = 0; i < iterations + 200; i++) {
    const t0 = process.hrtime.bigint();
    const c = classifier.classify(classifyRequestOf(req));
    const t1 = process.hrtime.bigint();
    const d = router.route({ requested: 'auto', requestedModel: undefined, policy, classification: c, maxOutputTokens: undefined, localOnly: false, usable: () => true, affinityKey: undefined });
    const t2 = process.hrtime.bigint();
    if (i >= 200) {
      classifyNs.push(Number(t1 - t0));
      decisionNs.push(Number(t2 - t0));
    }
    last = { tier: c.tier, model: d.model.id };
  }
  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! / 100) / 10;
  };
  return {
    promptChars: text.length,
    iterations,
    classifyUs: { p50: q(classifyNs, 0.5), p99: q(classifyNs, 0.99) },
    decisionUs: { p50: q(decisionNs, 0.5), p99: q(decisionNs, 0.99) },
    ...last,
  };
}

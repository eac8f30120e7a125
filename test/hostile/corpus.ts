/*
 * The hostile-input corpus: every family's cases, generated as data (see types.ts). The runner
 * (hostile.test.ts) sends them through a real Envoy + processor + simulators; corpus.test.ts
 * checks the corpus itself.
 */
import { bodyCases } from './families/body.js';
import { edgeCases } from './families/edges.js';
import { providerCases } from './families/provider.js';
import type { HostileCase } from './types.js';

export const MIN_CASES = 1000;

export function buildCorpus(): HostileCase[] {
  return [...bodyCases(), ...edgeCases(), ...providerCases()];
}

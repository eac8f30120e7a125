import { describe, expect, it } from 'vitest';
import { prompt4000 } from '../../../../scripts/eval-guard.js';
import { timePerCall } from '../../../../scripts/lib/per-call-time.js';
import { loadPromptGuard } from './verdict.js';

/**
 * Budget: ≤ 0.3 ms per check of a 4,000-character prompt. The bound asserted here is deliberately
 * loose (tests share two cores with other suites); the real figure is printed here and by
 * `npm run eval:guard`.
 */
const LOOSE_BOUND_MICROS = 1500;

describe('check time', () => {
  it(`checks a 4,000-character prompt well under ${LOOSE_BOUND_MICROS} µs (budget 300 µs)`, () => {
    const guard = loadPromptGuard();
    const texts = [0, 1, 2, 3, 4, 5].map(prompt4000);
    expect(texts[0]).toHaveLength(4000);
    const t = timePerCall((i) => guard.scoreText(texts[i % texts.length]!, 'data'), { warmup: 1000, perRound: 100, rounds: 21 });
    console.log(
      `guard, 4,000-character prompt: median ${t.wallMedianMicros.toFixed(1)} µs wall (${t.cpuMedianMicros.toFixed(1)} µs CPU), best ${t.wallBestMicros.toFixed(1)} µs per check`,
    );
    expect(t.wallMedianMicros).toBeLessThan(LOOSE_BOUND_MICROS);
  });
});

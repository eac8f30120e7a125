import { describe, expect, it } from 'vitest';
import { prompt4000 } from '../../../../scripts/eval-guard.js';
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
    for (let i = 0; i < 1000; i++) guard.scoreText(texts[i % texts.length]!, 'data');
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let round = 0; round < 21; round++) {
      const n = 100;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) guard.scoreText(texts[i % texts.length]!, 'data');
      wall.push(((performance.now() - t0) / n) * 1000);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / n);
    }
    wall.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    console.log(
      `guard, 4,000-character prompt: median ${wall[10]!.toFixed(1)} µs wall (${cpu[10]!.toFixed(1)} µs CPU), best ${wall[0]!.toFixed(1)} µs per check`,
    );
    expect(wall[10]).toBeLessThan(LOOSE_BOUND_MICROS);
  });
});

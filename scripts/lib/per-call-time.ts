/**
 * Time a call made many times: a warm-up, then rounds of calls, each round's mean per call in µs;
 * the median and best round (wall clock) and the median round of this process's CPU time. The
 * decision budgets (classifier, guard) are measured this way by the evals, the bench and the
 * perf tests alike.
 */
export interface PerCallTime {
  wallMedianMicros: number;
  wallBestMicros: number;
  cpuMedianMicros: number;
}

export function timePerCall(call: (i: number) => void, o: { warmup: number; perRound: number; rounds: number }): PerCallTime {
  for (let i = 0; i < o.warmup; i++) call(i);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round < o.rounds; round++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < o.perRound; i++) call(i);
    wall.push(((performance.now() - t0) / o.perRound) * 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / o.perRound);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const mid = Math.floor(o.rounds / 2);
  return { wallMedianMicros: wall[mid]!, wallBestMicros: wall[0]!, cpuMedianMicros: cpu[mid]! };
}

/** Per-process CPU time from /proc (Linux), to show where the two cores went during a load. */
import { readFileSync } from 'node:fs';
import { clockTicks } from './proctree.js';

/** User + system CPU seconds consumed so far by `pid` (all its threads); NaN if unreadable. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / clockTicks();
  } catch {
    return NaN;
  }
}

export type CpuSnapshot = Record<string, number>;

export function snapshot(pids: Record<string, number | undefined>): CpuSnapshot {
  const out: CpuSnapshot = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = cpuSeconds(pid);
  return out;
}

/** CPU used between two snapshots as a share of one core over `seconds` (1.0 = one full core). */
export function cpuShare(before: CpuSnapshot, after: CpuSnapshot, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after)) {
    const d = (after[k] ?? NaN) - (before[k] ?? NaN);
    if (!Number.isNaN(d) && seconds > 0) out[k] = Math.round((100 * d) / seconds) / 100;
  }
  return out;
}

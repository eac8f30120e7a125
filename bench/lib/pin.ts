/**
 * CPU pinning with taskset (util-linux). The proxy under test (bare Envoy, or Envoy + processor)
 * runs on the "gateway" CPU set; the load generators, the simulator and this orchestrator run on
 * the "load" CPU set, so the two sides never compete for a core.
 *
 * Processes are pinned after they start, with `taskset -a -p` (every thread), over the whole
 * process tree: that works the same for processes this benchmark spawns itself and for those a
 * baseline build's own start-up code spawns. Threads and processes created later inherit the
 * affinity of their creator.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { processTree } from './proctree.js';

export const TASKSET_BIN = process.env.TASKSET_BIN ?? 'taskset';

/** "0-2,5" -> [0, 1, 2, 5]. Throws on anything else. */
export function parseCpuList(s: string): number[] {
  const out = new Set<number>();
  for (const part of s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`not a CPU list: ${JSON.stringify(s)} (expected e.g. 0 or 0-3 or 0,2)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`not a CPU list: ${JSON.stringify(s)} (${part} is backwards)`);
    for (let c = a; c <= b; c++) out.add(c);
  }
  if (out.size === 0) throw new Error('empty CPU list');
  return [...out].sort((x, y) => x - y);
}

/** [0, 1, 2, 5] -> "0-2,5". */
export function formatCpuList(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(i === j ? String(s[i]) : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** CPUs this process may run on (its Cpus_allowed_list), else 0 .. availableParallelism - 1. */
export function allowedCpus(): number[] {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return parseCpuList(m[1]!);
  } catch {
    // not Linux, or /proc unreadable
  }
  return Array.from({ length: os.availableParallelism() }, (_, i) => i);
}

/**
 * Default sets: the proxy under test gets one core (the first allowed CPU), everything else gets
 * the rest. With a single CPU both sets are that CPU (nothing to separate).
 */
export function defaultCpuSets(): { gateway: number[]; load: number[] } {
  const all = allowedCpus();
  const n = Math.min(all.length, os.availableParallelism());
  const usable = all.slice(0, Math.max(1, n));
  if (usable.length < 2) return { gateway: usable, load: usable };
  return { gateway: usable.slice(0, 1), load: usable.slice(1) };
}

/** Distinct Cpus_allowed_list values over every thread of `pid` ([] if gone). */
export function threadAffinities(pid: number): string[] {
  const seen = new Set<string>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const tid of tids) {
    try {
      const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
      if (m) seen.add(formatCpuList(parseCpuList(m[1]!)));
    } catch {
      // thread exited meanwhile
    }
  }
  return [...seen];
}

/** Pins every thread of one process. Throws if taskset fails (missing binary, CPU not allowed). */
export function pinProcess(pid: number, cpus: readonly number[]): void {
  const list = formatCpuList(cpus);
  const r = spawnSync(TASKSET_BIN, ['-a', '-p', '-c', list, String(pid)], { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${TASKSET_BIN} (Debian package util-linux): ${r.error.message}`);
  // A process that exited in the meantime is not an error here; the caller notices it elsewhere.
  if (r.status !== 0 && threadAffinities(pid).length > 0) throw new Error(`taskset -a -p -c ${list} ${pid} failed: ${r.stderr.trim()}`);
}

export interface PinReport {
  /** Root pid and how many processes its tree had. */
  pid: number;
  processes: number;
  /** taskset calls made (0: everything already had the right affinity). */
  pinned: number;
  /** Every distinct thread affinity found in the tree afterwards (should be exactly [cpus]). */
  affinity: string[];
}

/** Makes sure every thread of `pid` and of all its descendants may run only on `cpus`. */
export function pinTree(pid: number | undefined, cpus: readonly number[]): PinReport | undefined {
  if (pid === undefined) return undefined;
  const want = formatCpuList(cpus);
  let pinned = 0;
  const tree = processTree(pid);
  for (const p of tree) {
    const now = threadAffinities(p);
    if (now.length === 1 && now[0] === want) continue;
    if (now.length === 0) continue;
    pinProcess(p, cpus);
    pinned++;
  }
  const affinity = [...new Set(tree.flatMap((p) => threadAffinities(p)))];
  if (affinity.some((a) => a !== want)) throw new Error(`pid ${pid}: after pinning to ${want}, threads still allowed on ${affinity.join(' / ')}`);
  return { pid, processes: tree.length, pinned, affinity };
}

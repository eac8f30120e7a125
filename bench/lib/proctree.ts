/**
 * Process trees from /proc (Linux): a process and all its descendants, their CPU time and their
 * resident memory. The processor may run several worker processes, so its cost is always read as
 * the sum over its tree.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** Kernel clock ticks per second (the unit of utime/stime in /proc/<pid>/stat). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields of /proc/<pid>/stat after the parenthesised command name (index 0 = field 3, state). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Parent pid of every live process. */
function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  return children;
}

/** `pid` followed by all its live descendants (breadth first). Empty if `pid` is gone. */
export function processTree(pid: number | undefined): number[] {
  if (pid === undefined || !statFields(pid)) return [];
  const children = parentMap();
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const c of children.get(out[i]!) ?? []) out.push(c);
  return out;
}

/**
 * CPU seconds (user + system) of `pid` and all its descendants. Each process counts its own
 * threads (utime + stime) plus what its already reaped children used (cutime + cstime), so a
 * worker that exits between two readings is not lost: its time moves into its parent's.
 * NaN if `pid` is gone.
 */
export function treeCpuSeconds(pid: number | undefined): number {
  const pids = processTree(pid);
  if (pids.length === 0) return NaN;
  let ticks = 0;
  for (const p of pids) {
    const f = statFields(p);
    // utime, stime, cutime, cstime are stat fields 14-17, i.e. indexes 11-14 here.
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / clockTicks();
}

/** Resident set size of one process in bytes (VmRSS), 0 if unreadable (gone, or a zombie). */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * RSS summed over `pid` and its descendants, in bytes. Pages shared between processes (libraries,
 * copy-on-write after a fork) count once per process, so for several workers this is an upper bound.
 */
export function treeRssBytes(pid: number | undefined): { bytes: number; processes: number } {
  const pids = processTree(pid);
  return { bytes: pids.reduce((s, p) => s + rssBytes(p), 0), processes: pids.length };
}

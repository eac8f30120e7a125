import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * How many processor workers to run: `auto` is one per CPU this process may use — its CPU
 * affinity, capped by its cgroup's CPU quota (a container's or a Kubernetes pod's CPU limit,
 * which affinity does not show), rounded up.
 */
export function workerCount(setting: 'auto' | number, cpus: number = availableCpus()): number {
  return setting === 'auto' ? Math.max(1, cpus) : setting;
}

export function availableCpus(quota: number | undefined = cgroupCpuQuota()): number {
  const affinity = os.availableParallelism();
  return quota === undefined ? affinity : Math.max(1, Math.min(affinity, Math.ceil(quota)));
}

/**
 * CPUs' worth of time the cgroup may use (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` over
 * `cpu.cfs_period_us`); undefined without a limit or outside a cgroup that has one.
 */
export function cgroupCpuQuota(read: (path: string) => string | undefined = readOptional): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max');
  if (v2 !== undefined) return parseCpuMax(v2);
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  return quota > 0 && period > 0 ? quota / period : undefined;
}

/** `cpu.max` holds "<quota> <period>" in microseconds, or "max <period>" for no limit. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period ?? 100_000);
  return quota !== 'max' && q > 0 && p > 0 ? q / p : undefined;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Where worker `index` listens besides the shared port: a Unix socket per worker, so Envoy can balance streams across them. */
export function workerSocketPath(dir: string, index: number): string {
  return `${dir.replace(/\/$/, '')}/ext-proc-${index}.sock`;
}

import os from 'node:os';

/**
 * How many processor workers to run: `auto` is one per CPU this process may use (its CPU
 * affinity; under Kubernetes the chart passes the pod's CPU limit instead, which affinity does
 * not show).
 */
export function workerCount(setting: 'auto' | number, cpus: number = os.availableParallelism()): number {
  return setting === 'auto' ? Math.max(1, cpus) : setting;
}

/** Where worker `index` listens besides the shared port: a Unix socket per worker, so Envoy can balance streams across them. */
export function workerSocketPath(dir: string, index: number): string {
  return `${dir.replace(/\/$/, '')}/ext-proc-${index}.sock`;
}

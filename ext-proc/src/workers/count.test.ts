import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { availableCpus, cgroupCpuQuota, parseCpuMax, workerCount, workerSocketPath } from './count.js';

describe('worker count', () => {
  it('is one per CPU for auto, else as configured', () => {
    expect(workerCount('auto', 8)).toBe(8);
    expect(workerCount('auto', 0)).toBe(1);
    expect(workerCount(3, 8)).toBe(3);
    expect(workerSocketPath('/run/gw/', 2)).toBe('/run/gw/ext-proc-2.sock');
  });

  it('caps the CPUs by the cgroup quota, rounded up, never above the affinity', () => {
    const affinity = os.availableParallelism();
    expect(availableCpus(undefined)).toBe(affinity);
    expect(availableCpus(0.5)).toBe(1);
    expect(availableCpus(1.5)).toBe(Math.min(affinity, 2));
    expect(availableCpus(affinity + 10)).toBe(affinity);
  });
});

describe('cgroup CPU quota', () => {
  it('reads cgroup v2 cpu.max', () => {
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('150000 100000')).toBe(1.5);
    expect(parseCpuMax('max 100000')).toBeUndefined();
    const files: Record<string, string> = { '/sys/fs/cgroup/cpu.max': '50000 100000\n' };
    expect(cgroupCpuQuota((p) => files[p])).toBe(0.5);
  });

  it('falls back to cgroup v1, where -1 means no limit', () => {
    const v1 = (quota: string) => (p: string) => ({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': quota, '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })[p];
    expect(cgroupCpuQuota(v1('300000'))).toBe(3);
    expect(cgroupCpuQuota(v1('-1'))).toBeUndefined();
    expect(cgroupCpuQuota(() => undefined)).toBeUndefined();
  });
});

/**
 * A throwaway Prometheus for tests: the Debian `prometheus` binary on a free loopback port, its
 * storage in a temporary directory, scraping the given targets every `scrapeIntervalS`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../scripts/lib/ports.js';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const READY_TIMEOUT_MS = 15_000;

export interface ScrapeJob {
  job: string;
  /** `host:port` */
  target: string;
  metricsPath?: string;
}

/** One sample of an instant query's answer. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusHandle {
  url: string;
  /** Evaluates `expr` now (the HTTP API's /api/v1/query); throws on a query Prometheus refuses. */
  query(expr: string): Promise<Sample[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(o: { jobs: ScrapeJob[]; scrapeIntervalS?: number }): Promise<PrometheusHandle> {
  if (!existsSync(PROMETHEUS_BIN))
    throw new Error(`prometheus not found at ${PROMETHEUS_BIN}: install the Debian package "prometheus" (or set PROMETHEUS_BIN)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-prometheus-'));
  const interval = `${o.scrapeIntervalS ?? 1}s`;
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: interval, evaluation_interval: interval },
      scrape_configs: o.jobs.map((j) => ({
        job_name: j.job,
        metrics_path: j.metricsPath ?? '/metrics',
        scrape_timeout: interval,
        static_configs: [{ targets: [j.target] }],
      })),
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited at start (${child.exitCode}):\n${output}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready in ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    async query(expr) {
      const r = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
      const body = (await r.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> | [number, string] };
      };
      if (body.status !== 'success' || !body.data) throw new Error(`prometheus refused ${expr}: ${body.error ?? r.status}`);
      const { resultType, result } = body.data;
      if (resultType === 'scalar') return [{ metric: {}, value: Number((result as [number, string])[1]) }];
      return (result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
    },
    stop,
  };
}

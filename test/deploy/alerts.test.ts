/*
 * The shipped alert rules: promtool accepts them and passes their unit tests, Prometheus's config
 * loads them, every alert has a firing and a quiet test case and a runbook entry, and every metric
 * they read exists (the processor exports it or the metrics contract names it; Envoy's are read
 * off a real Envoy running the compose config).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { type EnvoyProcess, startEnvoy } from '../../scripts/lib/envoy-process.js';
import { freePort } from '../../scripts/lib/ports.js';
import { headingAnchor, loadAlerts, loadRuleTests, metricNames, sectionAnchors, yamlFiles } from './alert-rules.js';

const root = repoRoot();
const RULES_DIR = 'grafana/alerts';
const ruleFiles = yamlFiles(root, RULES_DIR);
const testFiles = yamlFiles(root, `${RULES_DIR}/tests`);
const alerts = loadAlerts(root, ruleFiles);
const ruleTests = loadRuleTests(root, testFiles);
const README = 'grafana/README.md';

/**
 * Metric names dashboards, alerts and the Helm chart share (the metrics contract): some are
 * exported by code that lands apart from the rules reading them.
 */
const CONTRACT_METRICS = [
  'gen_ai_client_token_usage',
  'gen_ai_server_request_duration_seconds',
  'gen_ai_server_time_to_first_token_seconds',
  'llm_gateway_cost_usd_total',
  'llm_gateway_requests_total',
  'llm_gateway_rejections_total',
  'llm_gateway_streams_aborted_total',
  'llm_gateway_cache_lookups_total',
  'llm_gateway_cache_saved_usd_total',
  'llm_gateway_cache_writes_total',
  'llm_gateway_limit_rejections_total',
  'llm_gateway_reroutes_total',
  'llm_gateway_routing_saved_usd_total',
  'llm_gateway_upstream_attempts_total',
  'llm_gateway_pii_detected_total',
  'llm_gateway_guard_total',
  'llm_gateway_redis_up',
  'llm_gateway_redis_errors_total',
  'llm_gateway_redis_latency_mean_seconds',
  'llm_gateway_canary_active',
  'llm_gateway_canary_requests_total',
  'llm_gateway_canary_rollbacks_total',
  'llm_gateway_pool_queue_depth',
  'llm_gateway_pool_running',
  'llm_gateway_pool_in_flight',
  'llm_gateway_pool_kv_cache_usage',
  'llm_gateway_pool_service_seconds',
  'llm_gateway_pool_metrics_fresh',
  'llm_gateway_pool_picks_total',
  'llm_gateway_ext_proc_phase_seconds',
  'llm_gateway_ext_proc_streams_in_flight',
  'llm_gateway_budget_spent_usd',
  'llm_gateway_budget_limit_usd',
  'llm_gateway_limit_remaining',
  'llm_gateway_provider_cooling_down',
  'llm_gateway_fallback_exhausted_total',
  'llm_gateway_provider_quota_used_ratio',
  'llm_gateway_route_decisions_total',
  'llm_gateway_config_reloads_total',
  'llm_gateway_ledger_records_total',
];
/** Series Prometheus writes itself for every target. */
const PROMETHEUS_SERIES = ['up'];

function promtool(args: string[]): { status: number; output: string } {
  const bin = process.env.PROMTOOL ?? 'promtool';
  const r = spawnSync(bin, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (r.error) {
    throw new Error(`cannot run ${bin} (${r.error.message}): install Debian's prometheus package (CI's .ci/run does) or set PROMTOOL`);
  }
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Metric names the processor's sources declare (string literals), tests left out. */
function processorMetricNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const p = path.join(dir, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/['"`]((?:llm_gateway|gen_ai)_[a-z0-9_]+)['"`]/g)) names.add(m[1]!);
      }
    }
  };
  walk(path.join(root, 'ext-proc', 'src'));
  return names;
}

/** A histogram's or summary's series name, reduced to the metric it belongs to. */
const metricOf = (series: string) => series.replace(/_(bucket|count|sum)$/, '');

describe('alert rules (grafana/alerts)', () => {
  it('are found: rule files, test files and alerts with unique names', () => {
    expect(ruleFiles.length).toBeGreaterThan(0);
    expect(testFiles.length).toBeGreaterThan(0);
    const names = alerts.map((a) => a.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  for (const file of ruleFiles) {
    it(`promtool check rules ${file}`, () => {
      const { status, output } = promtool(['check', 'rules', file]);
      expect(status, output).toBe(0);
    });
  }

  for (const file of testFiles) {
    it(`promtool test rules ${file}`, () => {
      const { status, output } = promtool(['test', 'rules', file]);
      expect(status, output).toBe(0);
      expect(output).toContain('SUCCESS');
    });
  }

  it('are loaded by the Prometheus config compose runs (all rule files, no test file)', () => {
    const { status, output } = promtool(['check', 'config', 'grafana/prometheus.yml']);
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${ruleFiles.length} rule files found`);
    for (const file of ruleFiles) expect(output).toContain(`Checking ${file}`);
  });

  it('give every alert a severity, a summary, a description and a runbook', () => {
    for (const a of alerts) {
      expect(['critical', 'warning', 'info'], `${a.name} severity`).toContain(a.labels.severity);
      for (const key of ['summary', 'description', 'runbook_url']) expect(a.annotations[key], `${a.name} ${key}`).toBeTruthy();
    }
  });

  it('point every runbook_url at its own entry in the Alerts section of grafana/README.md, and every entry at an alert', () => {
    const anchors = sectionAnchors(readFileSync(path.join(root, README), 'utf8'), 'Alerts');
    for (const a of alerts) {
      expect(a.annotations.runbook_url, a.name).toBe(`${README}#${headingAnchor(a.name)}`);
      expect(anchors, `${README} has no "### ${a.name}" under "## Alerts"`).toContain(headingAnchor(a.name));
    }
    expect(anchors.filter((x) => !alerts.some((a) => headingAnchor(a.name) === x))).toEqual([]);
  });

  it('test every alert firing and staying quiet, with its own rule file loaded', () => {
    for (const t of ruleTests) for (const r of t.ruleFiles) expect(ruleFiles, `${t.file} loads ${r}`).toContain(r);
    const missing: string[] = [];
    for (const a of alerts) {
      const cases = ruleTests.filter((t) => t.ruleFiles.includes(a.file)).flatMap((t) => t.cases.filter((c) => c.alertname === a.name));
      if (!cases.some((c) => c.fires)) missing.push(`${a.name}: no case where it fires`);
      if (!cases.some((c) => !c.fires)) missing.push(`${a.name}: no case where it stays quiet`);
    }
    expect(missing).toEqual([]);
    // A case naming an alert that does not exist would pass vacuously.
    const known = new Set(alerts.map((a) => a.name));
    const unknown = ruleTests.flatMap((t) => t.cases.filter((c) => !known.has(c.alertname)).map((c) => `${t.file}: ${c.alertname}`));
    expect(unknown).toEqual([]);
  });

  it('extracts metric names from PromQL (the check below relies on it)', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, job) (rate(a_seconds_bucket{x="y{z}", le!="1"}[5m] offset 1d))) > 2 and on (job) b_total unless c:rec or vector(1e3)',
      ),
    ).toEqual(['a_seconds_bucket', 'b_total', 'c:rec']);
  });

  describe('read only metrics that exist', () => {
    let envoy: EnvoyProcess | undefined;
    let envoyNames = new Set<string>();

    beforeAll(async () => {
      // The compose Envoy config, on loopback and free ports; ext_proc stats exist from the start.
      const config = parse(readFileSync(path.join(root, 'envoy', 'compose-demo.yaml'), 'utf8')) as Record<string, any>;
      const adminPort = await freePort();
      config.admin.address.socket_address.port_value = adminPort;
      for (const l of config.static_resources.listeners) {
        l.address.socket_address.address = '127.0.0.1';
        l.address.socket_address.port_value = await freePort();
      }
      envoy = await startEnvoy(config, { adminPort });
      const text = await (await fetch(`${envoy.adminUrl}/stats/prometheus`)).text();
      envoyNames = new Set(text.split('\n').flatMap((l) => (l && !l.startsWith('#') ? [l.split(/[{ ]/)[0]!] : [])));
    });
    afterAll(async () => {
      await envoy?.stop();
    });

    it("every metric is the processor's, the contract's, Envoy's or Prometheus's own", () => {
      const processor = processorMetricNames();
      const contract = new Set(CONTRACT_METRICS);
      const unknown: string[] = [];
      for (const a of alerts) {
        const names = metricNames(a.expr);
        expect(names.length, `${a.name} reads no metric`).toBeGreaterThan(0);
        for (const n of names) {
          const ok = n.startsWith('envoy_') ? envoyNames.has(n) : processor.has(metricOf(n)) || contract.has(metricOf(n)) || PROMETHEUS_SERIES.includes(n);
          if (!ok) unknown.push(`${a.name}: ${n}`);
        }
      }
      expect(envoyNames.size, 'Envoy served no stats').toBeGreaterThan(100);
      expect(unknown).toEqual([]);
    });
  });
});

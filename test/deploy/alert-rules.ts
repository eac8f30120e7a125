/*
 * Reads the shipped Prometheus alert rules (grafana/alerts/*.yaml), their promtool unit tests
 * (grafana/alerts/tests/*.yaml) and the runbook section of grafana/README.md, for the checks in
 * alerts.test.ts. Shapes are validated here so a malformed file fails with its path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const AlertRule = z.object({
  alert: z.string().min(1),
  expr: z.string().min(1),
  for: z.string().optional(),
  labels: z.record(z.string(), z.string()).default({}),
  annotations: z.record(z.string(), z.string()).default({}),
});
const RecordingRule = z.object({ record: z.string().min(1), expr: z.string().min(1) });
const RuleFile = z.object({
  groups: z.array(z.object({ name: z.string().min(1), interval: z.string().optional(), rules: z.array(z.union([AlertRule, RecordingRule])) })),
});

const AlertRuleTest = z.object({
  eval_time: z.string(),
  alertname: z.string(),
  exp_alerts: z
    .array(z.object({ exp_labels: z.record(z.string(), z.unknown()).optional(), exp_annotations: z.record(z.string(), z.unknown()).optional() }))
    .nullish(),
});
const TestFile = z.object({
  rule_files: z.array(z.string()).min(1),
  evaluation_interval: z.string().optional(),
  tests: z.array(
    z.object({
      name: z.string().optional(),
      interval: z.string().optional(),
      input_series: z.array(z.object({ series: z.string(), values: z.string() })),
      alert_rule_test: z.array(AlertRuleTest).optional(),
    }),
  ),
});

export interface Alert {
  /** Path of its rule file, relative to the repository root. */
  file: string;
  group: string;
  name: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleTestFile {
  file: string;
  /** The rule files it loads, relative to the repository root. */
  ruleFiles: string[];
  cases: Array<{ test: string; alertname: string; evalTime: string; fires: boolean }>;
}

function parsed<T>(schema: z.ZodType<T>, root: string, rel: string): T {
  const r = schema.safeParse(parse(readFileSync(path.join(root, rel), 'utf8')));
  if (!r.success) throw new Error(`${rel}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** The `.yaml` files directly inside `dir` (relative to root), sorted. */
export function yamlFiles(root: string, dir: string): string[] {
  return readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => path.posix.join(dir, f));
}

export function loadAlerts(root: string, ruleFiles: string[]): Alert[] {
  return ruleFiles.flatMap((file) =>
    parsed(RuleFile, root, file).groups.flatMap((g) =>
      g.rules.flatMap((r) => ('alert' in r ? [{ file, group: g.name, name: r.alert, expr: r.expr, labels: r.labels, annotations: r.annotations }] : [])),
    ),
  );
}

export function loadRuleTests(root: string, testFiles: string[]): RuleTestFile[] {
  return testFiles.map((file) => {
    const t = parsed(TestFile, root, file);
    return {
      file,
      ruleFiles: t.rule_files.map((r) => path.posix.normalize(path.posix.join(path.posix.dirname(file), r))),
      cases: t.tests.flatMap((g, i) =>
        (g.alert_rule_test ?? []).map((c) => ({
          test: g.name ?? `test #${i + 1}`,
          alertname: c.alertname,
          evalTime: c.eval_time,
          fires: (c.exp_alerts ?? []).length > 0,
        })),
      ),
    };
  });
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * Metric names a PromQL expression selects. Strings, label matchers, ranges and grouping label
 * lists are removed first; what is left that looks like a name and is not called is a metric.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/#[^\n]*/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    // `sum by (x) (...)` becomes `sum (...)`: the aggregation reads as the call it is.
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*(?!\s*\()/g)) {
    // The lookahead alone would take `histogram_quantil` out of `histogram_quantile(`.
    const end = m.index + m[0].length;
    if (/[\w:]/.test(bare[end] ?? '')) continue;
    if (!KEYWORDS.has(m[0].toLowerCase())) names.add(m[0]);
  }
  return [...names].sort();
}

/** The anchor GitHub gives a markdown heading. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

/** Anchors of the `###` headings inside the `## <section>` of a markdown text. */
export function sectionAnchors(markdown: string, section: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${section}`);
  if (start < 0) return [];
  const anchors: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,2} /.test(line)) break;
    const h = /^### (.+)$/.exec(line);
    if (h) anchors.push(headingAnchor(h[1]!));
  }
  return anchors;
}

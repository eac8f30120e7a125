/*
 * `npm run chaos`: faults under load. Each scenario starts its own local stack (simulators, the
 * processor supervised as `npm start` runs it, Envoy), runs a bounded open-loop load of mixed
 * OpenAI / Anthropic / Gemini / Ollama chat calls (some streamed) through Envoy, injects one fault
 * part-way, and reports errors by class, recovery time and lost usage records. Prints a markdown
 * table per scenario and a summary, and writes JSON to bench/results/chaos-<timestamp>.json.
 * Not a test: test/e2e/chaos.test.ts runs a short fixed sample of it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { scenarioMarkdown, summaryMarkdown, type ScenarioReport } from './chaos/report.js';
import { DEFAULT_SCENARIOS, runScenario, SCENARIOS, type ScenarioName } from './chaos/scenarios.js';

const HELP = `npm run chaos -- [options]

  --scenarios <list>   comma-separated, or "all" (default: ${DEFAULT_SCENARIOS.join(',')})
                       available: ${SCENARIOS.join(', ')}
  --seconds <s>        load length per scenario (default 20; the fault lands ~30 % in)
  --rps <n>            calls per second, open loop (default 40)
  --workers <n>        processor workers, as PROCESSOR_WORKERS (default: one per CPU, at most 2)
  --consecutive <n>    recovery = first of N consecutive successes (default 10)
  --json <file>        where to write the JSON (default bench/results/chaos-<timestamp>.json)
  --verbose            the processor logs warnings and errors (to stdout)
  --keep-logs          keep each scenario's Envoy access log (its path is in the notes)
  --help
`;

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenarios: { type: 'string' },
      seconds: { type: 'string' },
      rps: { type: 'string' },
      workers: { type: 'string' },
      consecutive: { type: 'string' },
      json: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'keep-logs': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const list =
    values.scenarios === undefined ? DEFAULT_SCENARIOS : values.scenarios === 'all' ? [...SCENARIOS] : values.scenarios.split(',').map((s) => s.trim());
  for (const s of list)
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${JSON.stringify(s)}; available: ${SCENARIOS.join(', ')}`);
  const seconds = positive('seconds', values.seconds, 20);
  const rps = positive('rps', values.rps, 40);
  const workers = Math.round(positive('workers', values.workers, Math.min(2, os.availableParallelism())));
  const consecutive = Math.round(positive('consecutive', values.consecutive, 10));
  const stamp = new Date()
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  const jsonPath = values.json ?? path.join(repoRoot(), 'bench', 'results', `chaos-${stamp}.json`);

  const progress = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
  const reports: ScenarioReport[] = [];
  /** Scenarios that could not run (a stack that did not start): the others still do. */
  const broken: Array<{ name: string; error: string }> = [];
  const started = Date.now();
  for (const name of list as ScenarioName[]) {
    progress(`${name}: starting`);
    try {
      const { report } = await runScenario(name, {
        seconds,
        rps,
        workers,
        consecutive,
        processorLogLevel: values.verbose ? 'warn' : 'fatal',
        keepLogs: values['keep-logs'],
        progress,
      });
      reports.push(report);
      process.stdout.write(`${scenarioMarkdown(report)}\n`);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      broken.push({ name, error });
      progress(`${name}: could not run: ${error}`);
      process.stdout.write(`### ${name}: could not run\n\n${error}\n\n`);
    }
  }

  const out: string[] = [];
  out.push('## Summary');
  out.push('');
  out.push(summaryMarkdown(reports));
  for (const b of broken) out.push(`\n${b.name}: could not run: ${b.error}`);
  out.push('');
  out.push(
    `${rps} calls/s for ${seconds} s per scenario, processor workers ${workers}, recovery = first of ${consecutive} consecutive successes; ${os.availableParallelism()} CPUs, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}; ${((Date.now() - started) / 1000).toFixed(0)} s in all.`,
  );
  out.push('Envoy runs with --disable-hot-restart: a true hot restart (a new Envoy taking over the listeners) is out of scope; `drain` is the graceful stop.');
  process.stdout.write(`${out.join('\n')}\n`);

  mkdirSync(path.dirname(jsonPath), { recursive: true });
  writeFileSync(
    jsonPath,
    `${JSON.stringify(
      {
        when: new Date(started).toISOString(),
        options: { scenarios: list, seconds, rps, workers, consecutive },
        environment: { node: process.version, cpus: os.availableParallelism(), loadavg: os.loadavg(), platform: `${os.platform()} ${os.release()}` },
        scenarios: reports,
        notRun: broken,
      },
      null,
      2,
    )}\n`,
  );
  process.stderr.write(`[chaos] wrote ${path.relative(process.cwd(), jsonPath)}\n`);
  if (broken.length > 0) process.exitCode = 2;
  else if (reports.some((r) => r.summary.verdict !== 'pass')) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});

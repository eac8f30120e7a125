/*
 * End to end, through real Envoy and the processor, under continuous load (30 calls at a time):
 * a price changed in the catalog file is in force within moments, with no restart and not one
 * failed call — calls that started before the reload are costed at the old price, calls that start
 * after it at the new one — and an invalid catalog is refused: the old configuration stays, the
 * log names the file and line, and calls go on.
 */
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Pricing } from '../../ext-proc/src/catalog/load.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { costUsd, formatUsd } from '../../ext-proc/src/metering/cost.js';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { metricValue } from '../helpers/prom.js';

const KEY = 'gw-key-hot-reload-01';
const MODEL = 'gpt-4o-mini';
const CONCURRENCY = 30;
const ORIGINAL = readFileSync(path.join(repoRoot(), 'models', 'catalog.yaml'), 'utf8');
const PRICE_LINE = 'pricing: { input: 0.15, output: 0.60, cached_input: 0.075 }';
const OLD: Pricing = loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml')).find(MODEL)!.pricing;
const NEW: Pricing = { inputPerMTok: 1.5, outputPerMTok: 6, cachedInputPerMTok: 0.75 };

let stack: LocalStack;
let dir: string;
let catalogPath: string;
const logLines: string[] = [];

beforeAll(async () => {
  expect(ORIGINAL).toContain(PRICE_LINE);
  expect(OLD).toEqual({ inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: 0.075 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'gw-hot-reload-'));
  catalogPath = path.join(dir, 'catalog.yaml');
  writeFileSync(catalogPath, ORIGINAL);
  writeFileSync(path.join(dir, 'routing.yaml'), readFileSync(path.join(repoRoot(), 'models', 'routing.yaml')));
  writeFileSync(path.join(dir, 'tenants.yaml'), 'tenants:\n  reload: {}\n');
  stack = await startLocalStack({
    env: {
      GATEWAY_KEYS: `reload:${KEY}`,
      // Every call reaches the provider and is costed.
      CACHE_TTL_SECONDS: '0',
      GUARD_MODE: 'off',
      CATALOG_PATH: catalogPath,
      ROUTING_PATH: path.join(dir, 'routing.yaml'),
      TENANTS_PATH: path.join(dir, 'tenants.yaml'),
    },
    log: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
  });
});

afterAll(async () => {
  await stack?.close(500);
});

interface Outcome {
  startedAt: number;
  endedAt: number;
  status?: number;
  cost?: string | null;
  usage?: { inputTokens: number; outputTokens: number; cachedInputTokens: number; reasoningTokens: number };
  error?: string;
}

/** Keeps CONCURRENCY calls in flight until `stop` says so. */
function runLoad(): { outcomes: Outcome[]; stop(): Promise<Outcome[]> } {
  const client = new OpenAI({ apiKey: KEY, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0, timeout: 20_000 });
  const outcomes: Outcome[] = [];
  let running = true;
  let n = 0;
  const loop = async () => {
    while (running) {
      const o: Outcome = { startedAt: performance.now(), endedAt: 0 };
      try {
        const { data, response } = await client.chat.completions
          .create({ model: MODEL, messages: [{ role: 'user', content: `Say hello, caller ${n++}.` }] })
          .withResponse();
        o.status = response.status;
        o.cost = response.headers.get('x-gateway-cost-usd');
        o.usage = {
          inputTokens: data.usage!.prompt_tokens,
          outputTokens: data.usage!.completion_tokens,
          cachedInputTokens: data.usage!.prompt_tokens_details?.cached_tokens ?? 0,
          reasoningTokens: 0,
        };
      } catch (err) {
        o.error = err instanceof Error ? err.message : String(err);
      }
      o.endedAt = performance.now();
      outcomes.push(o);
    }
  };
  const loops = Array.from({ length: CONCURRENCY }, loop);
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

async function metrics(): Promise<string> {
  return (await fetch(stack.metricsUrl)).text();
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const reloads = async (result: 'ok' | 'failed') => metricValue(await metrics(), 'llm_gateway_config_reloads_total', { result });
const priced = (o: Outcome, p: Pricing) => formatUsd(costUsd(o.usage!, p));

/** Writes a new version of the catalog the way an editor or `models:update` does: beside it, then renamed over it. */
function replaceCatalog(text: string): void {
  const tmp = path.join(dir, '.catalog.yaml.swp');
  writeFileSync(tmp, text);
  renameSync(tmp, catalogPath);
}

describe('hot reload under load', () => {
  it('costs calls at a changed price from the reload on, with no failed call', async () => {
    expect(await reloads('ok')).toBe(0);
    const costBefore = metricValue(await metrics(), 'llm_gateway_cost_usd_total', { tenant: 'reload', gen_ai_request_model: MODEL });
    const load = runLoad();
    await until('warm-up calls', () => load.outcomes.length >= 60);

    const writtenAt = performance.now();
    replaceCatalog(ORIGINAL.replace(PRICE_LINE, 'pricing: { input: 1.50, output: 6.00, cached_input: 0.75 }'));
    await until('the reload', async () => (await reloads('ok')) === 1);
    const reloadedAt = performance.now();
    await until('calls after the reload', () => load.outcomes.filter((o) => o.startedAt > reloadedAt).length >= 150);
    const outcomes = await load.stop();

    expect(outcomes.filter((o) => o.error !== undefined || o.status !== 200).map((o) => o.error ?? o.status)).toEqual([]);
    for (const o of outcomes) expect([priced(o, OLD), priced(o, NEW)]).toContain(o.cost);
    const before = outcomes.filter((o) => o.endedAt < writtenAt);
    const after = outcomes.filter((o) => o.startedAt > reloadedAt);
    expect(before.length).toBeGreaterThanOrEqual(30);
    expect(before.every((o) => o.cost === priced(o, OLD))).toBe(true);
    expect(after.every((o) => o.cost === priced(o, NEW))).toBe(true);
    // The new price really is another figure for these calls.
    expect(after.every((o) => priced(o, NEW) !== priced(o, OLD))).toBe(true);

    // Prometheus agrees with the headers, call for call.
    const text = await metrics();
    const counted = metricValue(text, 'llm_gateway_cost_usd_total', { tenant: 'reload', gen_ai_request_model: MODEL }) - costBefore;
    expect(counted).toBeCloseTo(
      outcomes.reduce((sum, o) => sum + Number(o.cost), 0),
      6,
    );
    expect(metricValue(text, 'llm_gateway_config_reloads_total', { result: 'failed' })).toBe(0);
    expect(logLines.some((l) => l.includes('"msg":"configuration reloaded"') && l.includes('"reason":"file change"'))).toBe(true);
  }, 90_000);

  it('keeps the configuration in force through an invalid catalog, says where the problem is, and calls go on', async () => {
    const okBefore = await reloads('ok');
    const load = runLoad();
    await until('warm-up calls', () => load.outcomes.length >= 60);

    // An editor saving a half-typed price in place.
    const broken = ORIGINAL.replace(PRICE_LINE, 'pricing: { input: -1.50, output: 6.00, cached_input: 0.75 }');
    writeFileSync(catalogPath, broken);
    await until('the refused reload', async () => (await reloads('failed')) === 1);
    const refusedAt = performance.now();
    await until('calls after the refusal', () => load.outcomes.filter((o) => o.startedAt > refusedAt).length >= 100);
    const outcomes = await load.stop();

    expect(outcomes.filter((o) => o.error !== undefined || o.status !== 200).map((o) => o.error ?? o.status)).toEqual([]);
    // Still the configuration of the last good file: the price set by the first test.
    expect(outcomes.every((o) => o.cost === priced(o, NEW))).toBe(true);
    expect(await reloads('ok')).toBe(okBefore);
    const line = broken.split('\n').findIndex((l) => l.includes('input: -1.50')) + 1;
    const error = logLines.find((l) => l.includes('configuration reload failed, previous configuration kept'));
    expect(error).toBeDefined();
    expect(JSON.parse(error!).msg).toMatch(
      new RegExp(`catalog\\.yaml:${line}:\\d+: models\\[\\d+\\] \\(id: ${MODEL}\\): pricing\\.input: expected number >= 0, got number -1\\.5`),
    );
    const models = await fetch(`${stack.gatewayUrl}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toContain(MODEL);

    // Fixed, the file is picked up again.
    replaceCatalog(ORIGINAL);
    await until('the reload of the fixed file', async () => (await reloads('ok')) === okBefore + 1);
    const client = new OpenAI({ apiKey: KEY, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi again.' }] }).withResponse();
    const usage = { inputTokens: data.usage!.prompt_tokens, outputTokens: data.usage!.completion_tokens, cachedInputTokens: 0, reasoningTokens: 0 };
    expect(response.headers.get('x-gateway-cost-usd')).toBe(formatUsd(costUsd(usage, OLD)));
  }, 90_000);
});

/*
 * End to end: every panel of every dashboard shows data on a real Prometheus. Prometheus scrapes
 * the processor's /metrics and Envoy's /stats/prometheus every second while a scripted workload
 * drives each feature a panel shows through the real stack (Envoy, the processor, Redis, the
 * provider and pool simulators); then each query of each panel, and each annotation, is
 * evaluated through Prometheus' HTTP API with the variables set to All and Grafana's rate window
 * set to the length of the run, and must return at least one finite value.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARDS_DIR, renderDashboards } from '../../grafana/dashboards/src/render.js';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import type { VllmSimulator } from '../../simulators/vllm/server.js';
import { dashboardQueries, type DashboardJson, type DashboardQuery } from '../helpers/dashboards.js';
import { metricValue } from '../helpers/prom.js';
import { startPrometheus, type PrometheusHandle } from '../helpers/prometheus-server.js';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { CALL, type Caller } from '../helpers/sdk-calls.js';

const TENANTS = ['acme', 'onprem', 'quota', 'canary', 'capped', 'budget'] as const;
type Tenant = (typeof TENANTS)[number];
const KEYS = Object.fromEntries(TENANTS.map((t) => [t, `gw-key-dash-${t}-01`])) as Record<Tenant, string>;
/** Anthropic (529) → OpenRouter (500): a chain nobody answers. Its cluster names carry no dots (Envoy tags them). */
const DEAD_CHAIN = 'claude-sonnet-4-5';

const ROUTING = `
policies:
  default:
    tiers:
      simple: [gpt-5-nano, gemini-2.5-flash-lite, llama-3.1-8b-instant]
      medium: [gpt-5-mini]
      complex: [gpt-5, gemini-2.5-pro]
    premium_baseline: gpt-5
  local:
    tiers:
      simple: [vllm/llama-3.1-8b]
      medium: [vllm/llama-3.1-8b]
      complex: [vllm/llama-3.1-8b]
    local_only: true
    premium_baseline: gpt-5
  quota:
    tiers:
      simple: [deepseek-chat, gpt-5-mini]
      medium: [deepseek-chat, gpt-5-mini]
      complex: [deepseek-chat, gpt-5-mini]
    weights: { price: 1, quality: 0, latency: 0 }
provider_quotas:
  deepseek: { requests_per_minute: 4 }
  groq: { tokens_per_day: 100000 }
canaries:
  - name: mini-next
    tenant: canary
    stable: gpt-4o-mini
    canary: openrouter/deepseek/deepseek-chat-v3.1
    percent: 50
    min_samples: 5
    window_seconds: 300
`;

const TENANT_POLICIES = `
tenants:
  acme: {}
  onprem: { routing_policy: local }
  quota: { routing_policy: quota }
  canary: {}
  capped: { limits: { rpm: 3 } }
  budget: { limits: { tpm: 500000, usd_per_day: 0.004, usd_per_month: 1 } }
`;

let redis: RedisServerHandle;
let stack: LocalStack;
let prometheus: PrometheusHandle;
let startedAt = 0;

beforeAll(async () => {
  startedAt = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-dash-'));
  writeFileSync(path.join(dir, 'routing.yaml'), ROUTING);
  writeFileSync(path.join(dir, 'tenants.yaml'), TENANT_POLICIES);
  redis = await startRedis();
  stack = await startLocalStack({
    env: {
      GATEWAY_KEYS: TENANTS.map((t) => `${t}:${KEYS[t]}`).join(','),
      REDIS_URL: redis.url,
      ROUTING_PATH: path.join(dir, 'routing.yaml'),
      TENANTS_PATH: path.join(dir, 'tenants.yaml'),
    },
    log: pino({ level: 'silent' }),
    ownSimulators: {
      // The canary's backend, and the dead chain's second member.
      openrouter: { failEvery: 1, failStatus: 500 },
      anthropic: { failEvery: 1, failStatus: 529 },
    },
    // Two vLLM endpoints of one sequence each and no queue: a third call at once gets 503 from both.
    pools: {
      vllm: [
        { maxNumSeqs: 1, maxQueue: 0, tokensPerSecond: 40 },
        { maxNumSeqs: 1, maxQueue: 0, tokensPerSecond: 40 },
      ],
    },
  });
  prometheus = await startPrometheus({
    scrapeIntervalS: 1,
    jobs: [
      { job: 'llm-gateway-ext-proc', target: new URL(stack.metricsUrl).host },
      { job: 'envoy', target: new URL(stack.adminUrl).host, metricsPath: '/stats/prometheus' },
    ],
  });
  // Prometheus hands its targets to the scrapers a few seconds after it is ready: the workload
  // starts once both are scraped, so that every series is seen before and after it moves.
  const deadline = Date.now() + 20_000;
  while ((await prometheus.query('up == 1')).length < 2) {
    if (Date.now() > deadline) throw new Error('prometheus did not scrape the processor and Envoy within 20 s');
    await sleep(250);
  }
  await workload();
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  await stack?.close(500);
  await redis?.stop();
});

// ---- the workload --------------------------------------------------------------------------

const gw = (t: Tenant) => ({ url: stack.gatewayUrl, key: KEYS[t] });
const openai = (t: Tenant) => new OpenAI({ apiKey: KEYS[t], baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms: ${cond.toString()}`);
    await sleep(50);
  }
}
/** A call whose refusal is part of the workload: its status, whatever it is. */
const status = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: unknown) => (e as { status?: number }).status ?? 0,
  );

async function chat(t: Tenant, model: string, content: string, extra: Record<string, unknown> = {}): Promise<number> {
  const r = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS[t]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
  });
  await r.arrayBuffer();
  return r.status;
}

/**
 * One round of traffic touching every feature a panel shows. The workload runs it twice, some
 * seconds apart: a counter or histogram first scraped with its calls already in never shows a
 * rate, so each must move again in a later scrape (and in a later Envoy stats flush, every 5 s).
 */
async function round(n: number): Promise<void> {
  // All four APIs, whole and streamed, each to a backend of another API.
  const pairs: Array<[Caller, string]> = [
    ['openai', 'gpt-4o-mini'],
    ['anthropic', 'gemini-2.5-flash-lite'],
    ['gemini', 'gpt-4o-mini'],
    ['ollama', 'ollama/llama3.2'],
  ];
  for (const [caller, model] of pairs) {
    for (const stream of [false, true]) await CALL[caller](gw('acme'), model, `dashboards ${caller} ${stream} round ${n}`, stream, false);
  }

  // The cache: the same question three times, a miss then hits.
  for (let i = 0; i < 3; i++) await CALL.openai(gw('acme'), 'gpt-4o-mini', `cached question ${n}`, false, false);

  // Auto routing, simple and complex; local only, streamed from the vLLM pool.
  await openai('acme').chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: `What is the capital of France? (${n})` }] });
  await openai('acme').chat.completions.create({
    model: 'auto',
    messages: [
      {
        role: 'user',
        content: `Prove rigorously that the square root of 2 is irrational, then prove that there are infinitely many primes, justifying every step of both proofs. (${n})`,
      },
    ],
  });
  await CALL.openai(gw('onprem'), 'auto', `Summarise our quarterly numbers [sim:tokens=8] (${n})`, true, false);

  // A bad key: the gateway answers itself.
  const refused = await fetch(`${stack.gatewayUrl}/v1/models`, { headers: { authorization: 'Bearer not-a-gateway-key' } });
  await refused.arrayBuffer();
  expect(refused.status).toBe(401);

  // Limits: 3 requests a minute, then 429s (the sliding minute still holds the first round's
  // calls in the second). A daily budget: small calls spend, then one whose worst case (8,000
  // output tokens) no longer fits is refused.
  const capped: number[] = [];
  for (let i = 0; i < (n === 1 ? 4 : 1); i++) capped.push(await chat('capped', 'gpt-4o-mini', `capped ${n} ${i}`));
  expect(capped).toEqual(n === 1 ? [200, 200, 200, 429] : [429]);
  const budget: number[] = [];
  for (const maxTokens of n === 1 ? [50, 50, 8000] : [8000])
    budget.push(await chat('budget', 'gpt-4o-mini', `budget ${n} ${budget.length}`, { max_tokens: maxTokens }));
  expect(budget).toEqual(n === 1 ? [200, 200, 429] : [429]);

  // A chain whose every member refuses (each then cools down).
  const anthropic = new Anthropic({ apiKey: KEYS.acme, baseURL: stack.gatewayUrl, maxRetries: 0 });
  expect(
    await status(anthropic.messages.create({ model: DEAD_CHAIN, max_tokens: 64, messages: [{ role: 'user', content: `anyone ${n}?` }] })),
  ).toBeGreaterThanOrEqual(500);

  // Free-tier quotas: DeepSeek's 4 requests a minute steer the rest away; Groq counts tokens.
  for (let i = 0; i < (n === 1 ? 6 : 2); i++) {
    await openai('quota').chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: `quota probe ${n} ${i}` }] });
  }
  await chat('acme', 'llama-3.1-8b-instant', `a groq call ${n}`);

  // A stream the caller cuts off (while the pool is idle), metered as cut.
  const cut = new AbortController();
  const r = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.onprem}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'vllm/llama-3.1-8b', stream: true, messages: [{ role: 'user', content: `cut me off ${n} [sim:tokens=200]` }] }),
    signal: cut.signal,
  });
  expect(r.status).toBe(200);
  const reader = r.body!.getReader();
  await reader.read();
  cut.abort();
  await reader.read().catch(() => undefined);
  await until(async () => metricValue(await (await fetch(stack.metricsUrl)).text(), 'llm_gateway_streams_aborted_total', { tenant: 'onprem' }) >= n);
  // The endpoint lets the cut sequence go before the next scenario needs both.
  await until(async () => (stack.poolSimulators.vllm as unknown as VllmSimulator[]).every((sim) => sim.running() === 0));

  // The vLLM pool turning work away: two long streams take both endpoints, a third gets 503s.
  const long = [0, 1].map(async (i) => {
    await sleep(i * 100);
    return chat('onprem', 'vllm/llama-3.1-8b', `long answer ${n} ${i} [sim:tokens=40]`, { stream: true });
  });
  await sleep(400);
  expect(await chat('onprem', 'vllm/llama-3.1-8b', `one more ${n} [sim:tokens=4]`)).toBe(503);
  expect(await Promise.all(long)).toEqual([200, 200]);

  // A canary whose backend fails every call: too few calls in the first round to judge it
  // (min_samples 5), rolled back in the second.
  for (let i = 0; i < (n === 1 ? 4 : 30); i++) await chat('canary', 'gpt-4o-mini', `canary probe ${n} ${i}`);
  const rollbacks = metricValue(await (await fetch(stack.metricsUrl)).text(), 'llm_gateway_canary_rollbacks_total', { canary: 'mini-next' });
  expect(rollbacks).toBe(n === 1 ? 0 : 1);
}

async function workload(): Promise<void> {
  const first = Date.now();
  await round(1);
  await sleep(Math.max(0, first + 6000 - Date.now()));
  await round(2);
}

// ---- evaluation ----------------------------------------------------------------------------

/** A query as Grafana would send it with every variable on All and the rate window over the whole run. */
function resolve(expr: string, windowS: number): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, `${windowS}s`).replace(/\$(tenant|model|provider|instance)\b/g, '.*');
}

/**
 * Data: at least one finite value. An annotation counts only a 1: Grafana draws a Prometheus
 * annotation at the points whose value is 1.
 */
async function hasData(q: DashboardQuery, windowS: number): Promise<{ data: boolean; zero: boolean; error?: string }> {
  try {
    const samples = (await prometheus.query(resolve(q.expr, windowS))).filter((s) => Number.isFinite(s.value));
    const data = q.panelId === 0 ? samples.some((s) => s.value === 1) : samples.length > 0;
    return { data, zero: samples.length > 0 && samples.every((s) => s.value === 0) };
  } catch (err) {
    return { data: false, zero: false, error: err instanceof Error ? err.message : String(err) };
  }
}

const dashboards = [...renderDashboards().keys()].map((file) => ({
  file,
  json: JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8')) as DashboardJson,
}));

describe('every dashboard panel shows data on a real Prometheus', () => {
  it.each(dashboards)('$file', async ({ file, json }) => {
    const { panels, queries } = dashboardQueries(json);
    // Scrapes (1 s) and Envoy's histogram flushes (5 s) catch up with the end of the workload.
    const deadline = Date.now() + 12_000;
    let results: Array<DashboardQuery & Awaited<ReturnType<typeof hasData>>> = [];
    for (;;) {
      const windowS = Math.ceil((Date.now() - startedAt) / 1000) + 5;
      results = await Promise.all(queries.map(async (q) => ({ ...q, ...(await hasData(q, windowS)) })));
      if (results.every((r) => r.data) || Date.now() > deadline) break;
      await sleep(1000);
    }
    const live = panels.filter((p) => {
      const own = results.filter((r) => r.panelId === p.id);
      return own.length > 0 && own.every((r) => r.data);
    });
    const missing = results.filter((r) => !r.data);
    const zeros = results.filter((r) => r.zero).map((r) => `${r.panel} [${r.refId}]`);
    console.log(
      `${json.title}: ${live.length}/${panels.length} panels with data` +
        (zeros.length ? `; only zeros in: ${zeros.join(', ')}` : '') +
        missing.map((m) => `\n  no data: ${m.panel} [${m.refId}] ${m.error ?? ''}\n    ${m.expr}`).join(''),
    );
    expect(
      missing.map((m) => `${m.panel} [${m.refId}]${m.error ? `: ${m.error}` : ''}`),
      `${file}: queries without data`,
    ).toEqual([]);
    expect(live.length).toBe(panels.length);
  });
});

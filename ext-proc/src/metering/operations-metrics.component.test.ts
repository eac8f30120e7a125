/**
 * The operations metrics the dashboards read, through the real processor driven the way Envoy
 * drives it: each moves when its feature acts (a routing decision, a chain whose every member
 * refused, a tenant's limits, a provider's quota, ext_proc phases and open streams).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyPeer, GATEWAY_PROTOCOL, type PeerRequest } from '../../../test/helpers/ext-proc-peer.js';
import { metricValue } from '../../../test/helpers/prom.js';
import { loadCatalog } from '../catalog/load.js';
import { readEnv } from '../config/env.js';
import { repoRoot } from '../config/paths.js';
import { chainOf } from '../fallback/chains.js';
import { startGateway, type Gateway } from '../gateway.js';

const KEY = 'gw-key-opsmetrics-01';
const CHAINED = 'openrouter/meta-llama/llama-3.3-70b-instruct';
const catalog = loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml'));

let gateway: Gateway;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-opsmetrics-'));
  const routing = path.join(dir, 'routing.yaml');
  writeFileSync(routing, `${readFileSync(path.join(repoRoot(), 'models', 'routing.yaml'), 'utf8')}\nprovider_quotas:\n  groq: { requests_per_minute: 10 }\n`);
  const tenants = path.join(dir, 'tenants.yaml');
  writeFileSync(tenants, 'tenants:\n  ops: { limits: { rpm: 50, usd_per_day: 5 } }\n');
  const env: NodeJS.ProcessEnv = {
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    GATEWAY_KEYS: `ops:${KEY}`,
    OPENAI_API_KEY: 'k',
    GROQ_API_KEY: 'k',
    OPENROUTER_API_KEY: 'k',
    GEMINI_API_KEY: 'k',
    ANTHROPIC_API_KEY: 'k',
    DEEPSEEK_API_KEY: 'k',
    ROUTING_PATH: routing,
    TENANTS_PATH: tenants,
    CACHE_TTL_SECONDS: '0',
    LOG_LEVEL: 'silent',
  };
  gateway = await startGateway(readEnv(env), env, pino({ level: 'silent' }));
  session = http2.connect(`http://127.0.0.1:${gateway.grpcPort}`);
});

afterAll(async () => {
  session?.close();
  await gateway?.close(1000);
});

const metrics = async () => (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();

function call(model: string, content = 'What is the capital of France?'): { peer: EnvoyPeer; sent: Promise<void> } {
  const body = JSON.stringify({ model, messages: [{ role: 'user', content }] });
  const peer = new EnvoyPeer(session);
  const head: PeerRequest = {
    kind: 'request_headers',
    protocol: GATEWAY_PROTOCOL,
    headers: {
      ':method': 'POST',
      ':path': '/v1/chat/completions',
      ':authority': 'gateway.local',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      authorization: `Bearer ${KEY}`,
    },
  };
  peer.send(head, { kind: 'request_body', body, endOfStream: true });
  return { peer, sent: peer.next(2).then(() => undefined) };
}

describe('operations metrics', () => {
  it('counts a routing decision by tier, domain and locality', async () => {
    const before = metricValue(await metrics(), 'llm_gateway_route_decisions_total', { tenant: 'ops', local: 'false' });
    const { peer, sent } = call('auto');
    await sent;
    peer.end();
    const text = await metrics();
    expect(metricValue(text, 'llm_gateway_route_decisions_total', { tenant: 'ops', tier: 'simple', local: 'false' }) - before).toBe(1);
    // An explicit model the policy does not reroute is no decision of the router's.
    const explicit = call('gpt-4o-mini');
    await explicit.sent;
    explicit.peer.end();
    expect(metricValue(await metrics(), 'llm_gateway_route_decisions_total', { tenant: 'ops' })).toBe(before + 1);
  });

  it("counts a chained call whose last member refused too, by the chain's head", async () => {
    const head = chainOf(catalog, catalog.find(CHAINED)!)!.head.id;
    const labels = { tenant: 'ops', gen_ai_request_model: head };
    const before = metricValue(await metrics(), 'llm_gateway_fallback_exhausted_total', labels);
    const { peer, sent } = call(CHAINED);
    await sent;
    // An answer from the chain: the call is counted only when it is a refusal.
    peer.send({ kind: 'response_headers', headers: { ':status': '503', 'content-type': 'text/plain' }, endOfStream: true });
    await peer.next(1);
    peer.end();
    expect(metricValue(await metrics(), 'llm_gateway_fallback_exhausted_total', labels)).toBe(before + 1);
    const ok = call(CHAINED);
    await ok.sent;
    ok.peer.send({ kind: 'response_headers', headers: { ':status': '200', 'content-type': 'application/json' }, endOfStream: true });
    await ok.peer.next(1);
    ok.peer.end();
    expect(metricValue(await metrics(), 'llm_gateway_fallback_exhausted_total', labels)).toBe(before + 1);
  });

  it("shows the tenant's remaining limits and budget after its calls", async () => {
    const { peer, sent } = call('gpt-4o-mini');
    await sent;
    peer.end();
    const text = await metrics();
    expect(metricValue(text, 'llm_gateway_budget_limit_usd', { tenant: 'ops', period: 'day' })).toBe(5);
    // Spend as the limiter counts it: the calls in flight reserve their worst case.
    expect(metricValue(text, 'llm_gateway_budget_spent_usd', { tenant: 'ops', period: 'day' })).toBeGreaterThan(0);
    expect(metricValue(text, 'llm_gateway_limit_remaining', { tenant: 'ops', limit: 'rpm' })).toBeLessThan(50);
    expect(metricValue(text, 'llm_gateway_limit_remaining', { tenant: 'ops', limit: 'usd_per_day' })).toBeLessThan(5);
  });

  it("shows a provider's free-tier quota used as calls go to it", async () => {
    const before = metricValue(await metrics(), 'llm_gateway_provider_quota_used_ratio', { gen_ai_provider_name: 'groq', window: 'minute' });
    const { peer, sent } = call('llama-3.1-8b-instant');
    await sent;
    peer.end();
    const after = metricValue(await metrics(), 'llm_gateway_provider_quota_used_ratio', { gen_ai_provider_name: 'groq', window: 'minute' });
    expect(after - before).toBeCloseTo(0.1, 5);
  });

  it('shows every configured model as not cooling down while nothing refused', async () => {
    const text = await metrics();
    expect(text).toContain('llm_gateway_provider_cooling_down{gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o-mini"} 0');
  });

  it('times ext_proc phases and shows the streams open', async () => {
    const phases = (text: string, phase: string) => metricValue(text, 'llm_gateway_ext_proc_phase_seconds_count', { phase });
    const before = await metrics();
    const { peer, sent } = call('gpt-4o-mini');
    await sent;
    const during = await metrics();
    expect(metricValue(during, 'llm_gateway_ext_proc_streams_in_flight', {})).toBeGreaterThanOrEqual(1);
    expect(phases(during, 'request_headers') - phases(before, 'request_headers')).toBe(1);
    expect(phases(during, 'request_body') - phases(before, 'request_body')).toBe(1);
    peer.send({ kind: 'response_headers', headers: { ':status': '200', 'content-type': 'application/json' }, endOfStream: true });
    await peer.next(1);
    peer.end();
    await new Promise((r) => setTimeout(r, 50));
    const after = await metrics();
    expect(phases(after, 'response_headers') - phases(before, 'response_headers')).toBe(1);
    expect(metricValue(after, 'llm_gateway_ext_proc_streams_in_flight', {})).toBe(0);
  });
});

/*
 * End to end, the embedded ledger: calls through real Envoy and the processor (no Redis, no
 * PostgreSQL) with the official SDKs leave one record each in the local JSONL file, a cache hit
 * included and no prompt or answer text anywhere; GET /v1/usage answers each tenant about itself
 * with the same figures, refuses bad parameters with 400s in OpenAI's error shape, and
 * `npm run usage` prints the same as a table and as CSV.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerRecord } from '../../ext-proc/src/ledger/record.js';
import { main as usageCli } from '../../scripts/usage.js';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { CALL, type Caller, type Seen } from '../helpers/sdk-calls.js';

const KEY_A = 'gw-key-ledger-tenant-a';
const KEY_B = 'gw-key-ledger-tenant-b';
const SECRET = `ledger-secret-${Date.now()}`;

let stack: LocalStack;
let dir: string;
const seen: Array<{ caller: Caller; model: string; stream: boolean; out: Seen }> = [];

const ledgerFile = () => path.join(dir, 'usage.jsonl');
const records = (): LedgerRecord[] =>
  readFileSync(ledgerFile(), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LedgerRecord);

async function usage(key: string | undefined, query = ''): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.gatewayUrl}/v1/usage${query}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gw-usage-e2e-'));
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: `ta:${KEY_A},tb:${KEY_B}`, CACHE_TTL_SECONDS: '300', LEDGER_DIR: dir, LEDGER_FSYNC_MS: '50' },
    log: pino({ level: 'silent' }),
  });
  const gwA = { url: stack.gatewayUrl, key: KEY_A };
  const calls: Array<[Caller, string, boolean]> = [
    ['openai', 'gpt-4o-mini', false],
    ['openai', 'gpt-4o-mini', true],
    ['anthropic', 'claude-haiku-4-5', false],
    ['gemini', 'gpt-4o-mini', true],
    ['ollama', 'llama3.2', false],
  ];
  for (const [i, [caller, model, stream]] of calls.entries()) {
    seen.push({ caller, model, stream, out: await CALL[caller](gwA, model, `${SECRET} call ${i} [sim:tokens=${5 + i}]`, stream, false) });
  }
  // The first call again: answered from the cache.
  seen.push({
    caller: 'openai',
    model: 'gpt-4o-mini',
    stream: false,
    out: await CALL.openai(gwA, 'gpt-4o-mini', `${SECRET} call 0 [sim:tokens=5]`, false, false),
  });
  await CALL.openai({ url: stack.gatewayUrl, key: KEY_B }, 'gpt-4o-mini', `${SECRET} tenant b [sim:tokens=3]`, false, false);
}, 60_000);

afterAll(async () => {
  await stack?.close(500);
  rmSync(dir, { recursive: true, force: true });
});

describe('the embedded usage ledger', () => {
  it('has one record per call, the cache hit included, with the usage the caller saw and never its text', () => {
    const all = records();
    const mine = all.filter((r) => r.tenant === 'ta');
    expect(all.filter((r) => r.tenant === 'tb')).toHaveLength(1);
    expect(mine.map((r) => r.request_id)).toEqual(seen.map((s) => s.out.headers!.get('x-gateway-request-id')));
    for (const [i, s] of seen.entries()) {
      const r = mine[i]!;
      expect(r, `${s.caller} ${s.model}${s.stream ? ' stream' : ''}`).toMatchObject({
        key_id: expect.any(String),
        requested_model: s.model,
        model: s.out.headers!.get('x-gateway-model'),
        provider: s.out.headers!.get('x-gateway-provider'),
        stream: s.stream,
        status: 200,
        cache: s.out.headers!.get('x-gateway-cache'),
        aborted: false,
      });
      if (s.out.inputTokens !== undefined) expect(r.input_tokens).toBe(s.out.inputTokens);
      if (s.out.outputTokens !== undefined) expect(r.output_tokens).toBe(s.out.outputTokens);
      const cost = s.out.headers!.get('x-gateway-cost-usd');
      if (cost !== null) expect(r.cost_usd).toBeCloseTo(Number(cost), 9);
      expect(r.latency_ms).toBeGreaterThan(0);
      if (s.stream) expect(r.ttft_ms).toBeGreaterThan(0);
    }
    expect(mine.map((r) => r.cache)).toEqual(['miss', 'miss', 'miss', 'miss', 'miss', 'hit']);
    expect(mine[5]).toMatchObject({ cost_usd: 0, attempts: 0, saved_usd: expect.any(Number) });
    expect(mine[5]!.saved_usd).toBeGreaterThan(0);
    expect(readFileSync(ledgerFile(), 'utf8')).not.toContain(SECRET);
  });

  it("answers GET /v1/usage for the caller's own tenant only, with the ledger's figures", async () => {
    const mine = records().filter((r) => r.tenant === 'ta');
    const byModel = await usage(KEY_A, '?group_by=model');
    expect(byModel.status).toBe(200);
    expect(byModel.body).toMatchObject({ object: 'usage', tenant: 'ta', group_by: 'model' });
    const sum = (k: keyof LedgerRecord) => mine.reduce((n, r) => n + ((r[k] as number | null) ?? 0), 0);
    expect(byModel.body.totals).toMatchObject({
      requests: 6,
      cache_hits: 1,
      errors: 0,
      input_tokens: sum('input_tokens'),
      output_tokens: sum('output_tokens'),
    });
    expect(byModel.body.totals.cost_usd).toBeCloseTo(sum('cost_usd'), 9);
    expect(byModel.body.data.map((d: { model: string }) => d.model).sort()).toEqual([...new Set(mine.map((r) => r.model))].sort());
    const byDay = await usage(KEY_A, `?group_by=day&from=${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}`);
    expect(byDay.body.data).toEqual([expect.objectContaining({ day: new Date().toISOString().slice(0, 10), requests: 6 })]);
    const b = await usage(KEY_B, '?group_by=key');
    expect(b.body).toMatchObject({ tenant: 'tb', totals: { requests: 1 } });
    expect(b.body.data).toEqual([expect.objectContaining({ key_id: records().find((r) => r.tenant === 'tb')!.key_id, requests: 1 })]);
    // A range with nothing in it.
    expect((await usage(KEY_A, '?from=2020-01-01&to=2020-01-31')).body).toMatchObject({ data: [], totals: { requests: 0, cost_usd: 0 } });
    expect((await usage(undefined)).status).toBe(401);
    expect((await usage('gw-key-nobody-has')).status).toBe(401);
  });

  it("refuses bad parameters with a 400 in OpenAI's error shape naming the parameter", async () => {
    for (const [query, param] of [
      ['?group_by=week', 'group_by'],
      ['?from=last-week', 'from'],
      ['?from=2025-06-10&to=2025-06-01', 'from'],
      ['?from=2020-01-01&to=2025-01-01', 'to'],
      ['?tenant=tb', 'tenant'],
      ['?group_by=day&group_by=model', 'group_by'],
    ] as const) {
      const r = await usage(KEY_A, query);
      expect(r.status, query).toBe(400);
      expect(r.body, query).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param, code: expect.any(String) } });
    }
  });

  it('prints the same figures with npm run usage, as a table and as CSV', async () => {
    const api = await usage(KEY_A, '?group_by=provider');
    const out: string[] = [];
    const err: string[] = [];
    const env = { LEDGER_DIR: dir };
    expect(await usageCli(['--tenant', 'ta', '--group-by', 'provider', '--csv'], env, { write: (s) => out.push(s) }, { write: (s) => err.push(s) })).toBe(0);
    const [head, ...rows] = out.join('').trim().split('\r\n');
    const cols = head!.split(',');
    expect(cols[0]).toBe('provider');
    const parsed = rows.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, i === 0 ? v : Number(v)])));
    expect(parsed).toEqual(api.body.data);
    out.length = 0;
    expect(await usageCli(['--tenant', 'ta', '--group-by', 'provider'], env, { write: (s) => out.push(s) })).toBe(0);
    const table = out.join('');
    expect(table).toMatch(/^usage of tenant ta from .* by provider\n/);
    expect(table).toMatch(new RegExp(`\\ntotal +${api.body.totals.requests} `));
    expect(await usageCli(['--tenant', 'ta', '--group-by', 'week'], env, { write: () => undefined }, { write: (s) => err.push(s) })).toBe(2);
    expect(err.join('')).toContain('--group-by must be one of day, model, provider, key');
  });
});

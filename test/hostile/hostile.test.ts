/*
 * End to end: the hostile-input corpus (corpus.ts) through one real stack — Envoy, the processor
 * and the provider simulators — with bounded concurrency. Every case must get a well-formed
 * answer in its caller's API with the right status, leak nothing and not hang (checks in
 * check.ts); afterwards the processor must still serve a normal call in every API.
 *
 * Cases in KNOWN_FAILURES are expected to fail (it.fails): one that starts passing turns red.
 * HOSTILE_REPORT=<file> writes every case's answer as JSON lines, for triage; HOSTILE_ONLY=<text>
 * runs only the cases whose name matches it (a regular expression).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { API_SPECS, BACKEND_MODEL, CHAIN_MODEL, KEY, MAX_REQUEST_BYTES } from './apis.js';
import { chat } from './build.js';
import { verdict } from './check.js';
import { buildCorpus } from './corpus.js';
import { KNOWN_FAILURES } from './known-failures.js';
import { send, type WireResponse } from './send.js';
import { type Api, APIS, DEFAULT_TIMEOUT_MS, FAMILIES, type HostileCase } from './types.js';

/** Cases in flight at once: enough to finish fast, few enough for two shared cores. */
const CONCURRENCY = 24;
/** Fallback-chain attempts that stay silent this long move on (the `hang` cases). */
const ATTEMPT_IDLE_TIMEOUT_MS = 2000;

const only = process.env.HOSTILE_ONLY ? new RegExp(process.env.HOSTILE_ONLY) : undefined;
const corpus = buildCorpus().filter((c) => !only || only.test(c.name));
const results = new Map<string, { response: WireResponse; problems: string[] }>();
let stack: LocalStack;
let port: number;
/** Normal calls and /healthz once the corpus has run (before the isolated cases). */
let aliveAfter: { problems: string[]; healthz: number | string } | undefined;

/** Limits far above what the suite spends, so admission runs on every call without refusing one. */
const TENANTS = `tenants:
  hostile:
    limits: { rpm: 100000000, tpm: 1000000000000000, usd_per_day: 1000000000, usd_per_month: 1000000000 }
`;

/** Bodies above this are sent one at a time, once the others are done. */
const HEAVY_BYTES = 200_000;

function requestBytes(c: HostileCase): number {
  return c.request.raw?.length ?? (c.request.body === undefined ? 0 : Buffer.byteLength(c.request.body));
}

async function runConcurrently(cases: HostileCase[], lanes: number): Promise<void> {
  // The slow ones first, so they overlap the many quick ones.
  const queue = lanes === 1 ? [...cases] : [...cases].sort((a, b) => (b.timeoutMs ?? DEFAULT_TIMEOUT_MS) - (a.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const response = await send(port, c.request, c.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      results.set(c.name, { response, problems: verdict(c, response) });
    }
  };
  await Promise.all(Array.from({ length: lanes }, worker));
}

/**
 * The light cases concurrently; then the cases that share a fallback chain's state, one at a
 * time in corpus order; then the heavy bodies alone, one at a time. Heavy bodies in flight at
 * once to a fallback chain have crashed Envoy (a segfault, with the ext_proc cluster's default
 * 1 MiB connection buffer; the isolated size case is the reproducer): sent last and alone, a
 * crash they cause cannot take the rest of the corpus with it.
 */
async function runAll(cases: HostileCase[]): Promise<void> {
  const heavy = (c: HostileCase) => requestBytes(c) > HEAVY_BYTES;
  await runConcurrently(
    cases.filter((c) => !heavy(c) && !c.sequential),
    CONCURRENCY,
  );
  for (const c of cases.filter((x) => x.sequential)) await runConcurrently([c], 1);
  await runConcurrently(cases.filter(heavy), 1);
}

/** A normal call in every API, streamed and not, and one per fallback chain the corpus uses: the problems seen. */
async function normalCalls(): Promise<string[]> {
  const problems: string[] = [];
  const calls: Array<{ api: Api; model: string; stream: boolean }> = [
    ...APIS.flatMap((api) => [false, true].map((stream) => ({ api, model: BACKEND_MODEL[api], stream }))),
    { api: 'openai', model: CHAIN_MODEL, stream: false },
  ];
  for (const { api, model, stream } of calls) {
    const c: HostileCase = {
      name: `normal call/${api}/${model}/${stream ? 'stream' : 'whole'}`,
      api,
      family: 'provider',
      answer: 'chat',
      request: chat(api, API_SPECS[api].body(model, stream), { model, stream }),
      expect: { kind: 'ok' },
    };
    const r = await send(port, c.request, DEFAULT_TIMEOUT_MS);
    for (const p of verdict(c, r)) problems.push(`${c.name}: ${p} (${showResponse(r)})`);
  }
  return problems;
}

async function envoyRuns(): Promise<boolean> {
  return fetch(`${stack.adminUrl}/ready`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );
}

function showRequest(c: HostileCase): string {
  const r = c.request;
  const bytes = r.raw ?? (r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body));
  const head = r.raw ? 'raw bytes' : `${r.method} ${r.path.length > 200 ? `${r.path.slice(0, 200)}…` : r.path}`;
  return `${head}; ${bytes.length} bytes: ${JSON.stringify(bytes.subarray(0, 200).toString('latin1'))}${bytes.length > 200 ? '…' : ''}`;
}

function showResponse(r: WireResponse): string {
  if (r.timedOut && r.status === 0) return `nothing within ${r.ms} ms`;
  const h = ['content-type', 'x-gateway-request-id', 'x-gateway-provider', 'retry-after'].filter((k) => r.headers[k]).map((k) => `${k}: ${r.headers[k]}`);
  const flags = [r.timedOut && 'timed out', r.reset && 'reset', r.incomplete && 'incomplete'].filter(Boolean).join(', ');
  return `${r.status} in ${r.ms} ms${flags ? ` (${flags})` : ''}; ${h.join('; ')}; body: ${JSON.stringify(r.body.subarray(0, 400).toString('utf8'))}`;
}

/** Every case's answer as one JSON line, and Envoy's own log beside it. */
function writeReport(file: string): void {
  const lines = corpus.map((c) => {
    const { response: r, problems } = results.get(c.name)!;
    return JSON.stringify({
      name: c.name,
      family: c.family,
      api: c.api,
      known: KNOWN_FAILURES[c.name] ?? null,
      problems,
      request: showRequest(c),
      status: r.status,
      ms: r.ms,
      timedOut: r.timedOut,
      reset: r.reset,
      incomplete: r.incomplete,
      headers: r.headers,
      body: r.body.subarray(0, 600).toString('utf8'),
    });
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
  writeFileSync(`${file}.envoy.log`, stack.envoy.log());
}

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-hostile-'));
  writeFileSync(path.join(dir, 'tenants.yaml'), TENANTS);
  const start = () =>
    startLocalStack({
      env: {
        GATEWAY_KEYS: `hostile:${KEY}`,
        CACHE_TTL_SECONDS: '0',
        MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
        TENANTS_PATH: path.join(dir, 'tenants.yaml'),
        // Chained attempts after a 5xx would otherwise skip the member for a while.
        COOLDOWN_SECONDS: '0',
        LOG_LEVEL: 'silent',
      },
      log: pino({ level: 'silent' }),
      attemptIdleTimeoutMs: ATTEMPT_IDLE_TIMEOUT_MS,
    });
  // Free ports are picked before they are bound: on a busy machine another process may take one first.
  for (let attempt = 1; ; attempt++) {
    try {
      stack = await start();
      break;
    } catch (err) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE/i.test(String(err))) throw err;
    }
  }
  port = Number(new URL(stack.gatewayUrl).port);
  // Every backend and chain the corpus uses has answered once before it starts (see the isolated
  // size case for why a cold chain matters).
  const before = await normalCalls();
  if (before.length > 0) throw new Error(`the stack does not answer normal calls:\n${before.join('\n')}`);
  await runAll(corpus.filter((c) => !c.isolated));
  aliveAfter = { problems: await normalCalls(), healthz: await fetch(`${stack.gatewayUrl}/healthz`).then((r) => r.status, String) };
  for (const c of corpus.filter((x) => x.isolated)) {
    const response = await send(port, c.request, c.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const problems = verdict(c, response);
    if (!(await envoyRuns())) problems.push(`Envoy is down after this request: ${stack.envoy.log().split('\n').slice(0, 3).join(' / ')}`);
    results.set(c.name, { response, problems });
  }
  const report = process.env.HOSTILE_REPORT;
  if (report) writeReport(report);
}, 120_000);

afterAll(async () => {
  await stack?.close(500);
});

for (const family of FAMILIES) {
  describe(`hostile ${family}`, () => {
    for (const c of corpus.filter((x) => x.family === family)) {
      const known = KNOWN_FAILURES[c.name];
      (known ? it.fails : it)(c.name, () => {
        const res = results.get(c.name);
        expect(res, 'the case was never sent').toBeDefined();
        if (res!.problems.length > 0) {
          throw new Error(
            `${c.name}\n  problems: ${res!.problems.join('; ')}\n  request:  ${showRequest(c)}\n  response: ${showResponse(res!.response)}${known ? `\n  known: ${known}` : ''}`,
          );
        }
      });
    }
  });
}

describe('after the hostile corpus', () => {
  it('the processor is alive: /healthz is up and a normal call succeeds in every API', () => {
    expect(aliveAfter?.healthz).toBe(200);
    expect(aliveAfter?.problems).toEqual([]);
  });
});

/*
 * End to end: what the edge must not let through. A gateway key sent in the query string never
 * reaches the access log (errors, model lists, cache hits, answered calls); a caller cannot pick
 * its own request id or forge Envoy's headers; a provider sees neither the caller's key nor its
 * address.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

const KEY = 'gw-key-edge-hygiene-01';
let stack: LocalStack;
let accessLog: string;

beforeAll(async () => {
  accessLog = path.join(mkdtempSync(path.join(os.tmpdir(), 'gw-edge-')), 'access.log');
  stack = await startLocalStack({ env: { GATEWAY_KEYS: `edge:${KEY}`, CACHE_TTL_SECONDS: '300' }, log: pino({ level: 'silent' }), accessLog });
});

afterAll(async () => {
  await stack?.close(500);
});

const gemini = (q: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${stack.gatewayUrl}/v1beta/models/gemini-2.5-flash-lite:generateContent?${q}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

/** Envoy flushes its access log every 200 ms (the local stack's setting). */
async function logLines(until: (lines: string[]) => boolean): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const lines = readFileSync(accessLog, 'utf8').split('\n').filter(Boolean);
    if (until(lines) || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('edge hygiene', () => {
  it('a gateway key in the query string never reaches the access log, whoever answers', async () => {
    const body = JSON.stringify({ contents: [{ parts: [{ text: 'query key probe' }] }] });
    expect((await gemini(`key=${KEY}`, body)).status).toBe(200);
    expect((await gemini(`key=${KEY}`, body)).headers.get('x-gateway-cache')).toBe('hit');
    expect((await gemini(`key=${KEY}`, '{broken')).status).toBe(400);
    expect((await fetch(`${stack.gatewayUrl}/v1beta/models?key=${KEY}`)).status).toBe(200);
    expect((await gemini('key=not-a-real-key-at-all', body)).status).toBe(401);
    const lines = await logLines((l) => l.length >= 5);
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) {
      expect(line).not.toContain(KEY);
      expect(line).not.toContain('not-a-real-key');
    }
  });

  it("the request id is the gateway's own, not the caller's, and Envoy headers a caller sends go nowhere", async () => {
    const before = stack.simulators.gemini!.requestCount();
    const body = JSON.stringify({ contents: [{ parts: [{ text: `forgery probe ${Date.now()}` }] }] });
    const r = await gemini(`key=${KEY}`, body, { 'x-request-id': 'caller-chosen-id', 'x-envoy-original-path': '/forged/path', 'x-envoy-internal': 'true' });
    expect(r.status).toBe(200);
    const rid = r.headers.get('x-gateway-request-id');
    expect(rid).toBeTruthy();
    expect(rid).not.toBe('caller-chosen-id');
    expect(stack.simulators.gemini!.requestCount()).toBe(before + 1);
    const upstream = stack.simulators.gemini!.requests.at(-1)!;
    const names = Object.keys(upstream.headers);
    expect(names).not.toContain('x-envoy-original-path');
    expect(names).not.toContain('x-envoy-internal');
    expect(names).not.toContain('x-forwarded-for');
    expect(names).not.toContain('x-envoy-external-address');
    expect(upstream.headers['x-request-id']).toBe(rid);
    expect(upstream.path).not.toContain(KEY);
    const lines = await logLines((l) => l.some((x) => x.includes(rid!)));
    const mine = lines.map((l) => JSON.parse(l) as { request_id: string; path: string }).find((l) => l.request_id === rid);
    expect(mine?.path).toBe('/v1beta/models/gemini-2.5-flash-lite:generateContent');
  });
});

/*
 * End to end: transparent mode. A service inside the mesh calls the provider's usual host and
 * path with no gateway key (its SDK's placeholder key is ignored); the mesh's identity header
 * authenticates it as a tenant, and the gateway injects the provider credential.
 */
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATOR_PROVIDER_KEY, startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

const IDENTITY = 'spiffe://cluster.local/ns/shop/sa/checkout';
let stack: LocalStack;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-transparent-'));
  const tenants = path.join(dir, 'tenants.yaml');
  writeFileSync(tenants, `tenants:\n  shop:\n    identities: ["${IDENTITY}"]\n`);
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: 'other:gw-key-other-0001', CACHE_TTL_SECONDS: '0', TENANTS_PATH: tenants, IDENTITY_HEADER: 'x-mesh-identity' },
    log: pino({ level: 'silent' }),
    identityHeader: 'x-mesh-identity',
  });
});

afterAll(async () => {
  await stack?.close(500);
});

/** A request as a sidecar forwards it: the provider's own Host, the mesh's identity header. */
function meshCall(
  host: string,
  pathAndQuery: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
  const url = new URL(stack.gatewayUrl);
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: pathAndQuery,
        method: 'POST',
        headers: { host, 'content-type': 'application/json', 'content-length': String(data.length), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

describe('transparent mode', () => {
  it('api.anthropic.com/v1/messages with a placeholder key is served for the mesh identity, with the platform credential', async () => {
    const r = await meshCall(
      'api.anthropic.com',
      '/v1/messages',
      { model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi [sim:tokens=3]' }] },
      {
        'x-api-key': 'sk-ant-placeholder',
        'anthropic-version': '2023-06-01',
        'x-mesh-identity': IDENTITY,
      },
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ type: 'message', role: 'assistant', usage: { output_tokens: 3 } });
    const upstream = stack.simulators.anthropic!.requests.at(-1)!;
    expect(upstream.headers['x-api-key']).toBe(SIMULATOR_PROVIDER_KEY);
    expect(JSON.stringify(upstream.headers)).not.toContain('placeholder');
    expect(JSON.stringify(upstream.headers)).not.toContain(IDENTITY);
  });

  it('api.openai.com and generativelanguage.googleapis.com work the same way', async () => {
    const o = await meshCall(
      'api.openai.com',
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      {
        authorization: 'Bearer sk-placeholder',
        'x-mesh-identity': IDENTITY,
      },
    );
    expect(o.status).toBe(200);
    expect(o.body.object).toBe('chat.completion');
    const g = await meshCall(
      'generativelanguage.googleapis.com',
      '/v1beta/models/gemini-2.5-flash-lite:generateContent?key=placeholder',
      { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
      {
        'x-mesh-identity': IDENTITY,
      },
    );
    expect(g.status).toBe(200);
    expect(g.body.candidates[0].content.role).toBe('model');
    expect(stack.simulators.gemini!.requests.at(-1)!.headers['x-goog-api-key']).toBe(SIMULATOR_PROVIDER_KEY);
  });

  it("an identity no tenant claims gets a 401 in the caller's API", async () => {
    const r = await meshCall(
      'api.anthropic.com',
      '/v1/messages',
      { model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] },
      {
        'x-api-key': 'sk-ant-placeholder',
        'anthropic-version': '2023-06-01',
        'x-mesh-identity': 'spiffe://cluster.local/ns/evil/sa/intruder',
      },
    );
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });
});

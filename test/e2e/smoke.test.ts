import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

let s: LocalStack;
beforeAll(async () => {
  s = await startLocalStack({ env: { GATEWAY_KEYS: 'acme:gw-test-key-1' }, log: pino({ level: 'debug' }), envoyLogLevel: 'info' });
});
afterAll(async () => s?.close());

it('smoke', async () => {
  const h = { authorization: 'Bearer gw-test-key-1', 'content-type': 'application/json' };
  let r = await fetch(s.gatewayUrl + '/v1/chat/completions', { method: 'POST', headers: h, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi there' }] }) });
  console.log(r.status, [...r.headers].filter(([k]) => k.startsWith('x-')), await r.text());
  r = await fetch(s.gatewayUrl + '/v1/chat/completions', { method: 'POST', headers: h, body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi there' }] }) });
  console.log(r.status, [...r.headers].filter(([k]) => k.startsWith('x-')), await r.text());
  r = await fetch(s.gatewayUrl + '/v1/models', { headers: h });
  console.log(r.status, (await r.text()).slice(0, 300));
  r = await fetch(s.gatewayUrl + '/v1/chat/completions', { method: 'POST', headers: { ...h, authorization: 'Bearer nope' }, body: '{}' });
  console.log(r.status, await r.text());
  console.log((await (await fetch(s.metricsUrl)).text()).split('\n').filter((l) => l.startsWith('llm_gateway_cost') || l.startsWith('gen_ai_client_token_usage_sum')).join('\n'));
  console.log(s.envoy.log().slice(-3000));
  expect(1).toBe(1);
});

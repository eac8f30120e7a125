import { describe, expect, it, vi } from 'vitest';
import { GUARD_EXAMPLES } from '../../../test/helpers/guard-examples.js';
import { createMetrics, type GatewayMetrics } from '../metering/metrics.js';
import type { FormatId } from '../providers/canonical/types.js';
import { loadPromptGuard } from '../safety/guard/verdict.js';
import type { GuardMode } from '../safety/guard/verdict.js';
import type { TenantPolicy } from '../tenants/policy.js';
import { type Caller, readHead } from './caller.js';
import { readChatRequest } from './chat.js';
import type { GatewayContext } from './context.js';
import { type GuardScreen, guardHeaders, promptInjectionRefused, screenGuard, withGuardHeaders } from './guard.js';

const PATHS: Record<FormatId, string> = {
  openai: '/v1/chat/completions',
  anthropic: '/v1/messages',
  gemini: '/v1beta/models/gemini-2.5-flash:generateContent',
  ollama: '/api/chat',
};

function body(api: FormatId, prompt: string): unknown {
  if (api === 'anthropic') return { model: 'claude-haiku-4-5', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: prompt }] };
  if (api === 'gemini') return { systemInstruction: { parts: [{ text: 'Be brief.' }] }, contents: [{ role: 'user', parts: [{ text: prompt }] }] };
  return {
    model: 'm',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: prompt },
    ],
  };
}

const guard = loadPromptGuard();

function setup(o: { api?: FormatId; prompt: string; policy?: Partial<TenantPolicy>; guardMode?: GuardMode }) {
  const api = o.api ?? 'openai';
  const metrics = createMetrics();
  const warn = vi.fn();
  const gw = { metrics, guardMode: o.guardMode, guard, log: { warn } } as unknown as GatewayContext;
  const head = readHead({ ':method': 'POST', ':path': PATHS[api] }, 'rid-test');
  const caller = { ...head, principal: { tenant: 'acme' }, policy: o.policy && { limits: {}, ...o.policy } } as unknown as Caller;
  const request = readChatRequest(caller, Buffer.from(JSON.stringify(body(api, o.prompt))));
  return { gw, caller, request, metrics, warn };
}

async function counts(metrics: GatewayMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.guardChecks.get()).values) out[`${v.labels.tenant}/${v.labels.verdict}/${v.labels.channel}/${v.labels.action}`] = v.value;
  return out;
}

describe('screenGuard', () => {
  it('off (no policy, no GUARD_MODE): nothing is checked or counted', async () => {
    const { gw, caller, request, metrics } = setup({ prompt: GUARD_EXAMPLES.attack });
    expect(screenGuard(gw, caller, request)).toBeUndefined();
    expect(await counts(metrics)).toEqual({});
  });

  it('monitor: a flagged call goes on, counted and logged without its text', async () => {
    const { gw, caller, request, metrics, warn } = setup({ prompt: GUARD_EXAMPLES.attack, guardMode: 'monitor' });
    const g = screenGuard(gw, caller, request);
    expect(g).toMatchObject({ mode: 'monitor', verdict: 'flagged', channel: 'user', blocked: false });
    expect(await counts(metrics)).toEqual({ 'acme/flagged/user/pass': 1 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warn.mock.calls)).not.toContain('developer mode');
    expect(warn.mock.calls[0]![0]).toMatchObject({ rid: 'rid-test', tenant: 'acme', channel: 'user', where: 'messages[0].content[0]', action: 'pass' });
  });

  it('block: a flagged call is refused, in every caller API; a benign one passes', async () => {
    for (const api of ['openai', 'anthropic', 'gemini', 'ollama'] as const) {
      const { gw, caller, request, metrics } = setup({ api, prompt: GUARD_EXAMPLES.attackEs, guardMode: 'block' });
      expect(screenGuard(gw, caller, request), api).toMatchObject({ verdict: 'flagged', blocked: true });
      expect(await counts(metrics)).toEqual({ 'acme/flagged/user/block': 1 });
      const ok = setup({ api, prompt: GUARD_EXAMPLES.benign, guardMode: 'block' });
      expect(screenGuard(ok.gw, ok.caller, ok.request), api).toMatchObject({ verdict: 'clean', blocked: false });
      expect(await counts(ok.metrics)).toEqual({ 'acme/clean/user/pass': 1 });
    }
  });

  it('the system prompt is the operator’s: not checked', () => {
    const { gw, caller, request } = setup({ api: 'anthropic', prompt: GUARD_EXAMPLES.benign, guardMode: 'block' });
    const withSystem = { ...request, chat: { ...request.chat, system: GUARD_EXAMPLES.attack } };
    expect(screenGuard(gw, caller, withSystem)).toMatchObject({ verdict: 'clean', blocked: false });
  });

  it('the tenant’s policy wins over GUARD_MODE, both ways', () => {
    const off = setup({ prompt: GUARD_EXAMPLES.attack, guardMode: 'block', policy: { guard: 'off' } });
    expect(screenGuard(off.gw, off.caller, off.request)).toBeUndefined();
    const block = setup({ prompt: GUARD_EXAMPLES.attack, guardMode: 'monitor', policy: { guard: 'block' } });
    expect(screenGuard(block.gw, block.caller, block.request)).toMatchObject({ mode: 'block', blocked: true });
    const tenantOnly = setup({ prompt: GUARD_EXAMPLES.attack, policy: { guard: 'monitor' } });
    expect(screenGuard(tenantOnly.gw, tenantOnly.caller, tenantOnly.request)).toMatchObject({ mode: 'monitor', verdict: 'flagged' });
  });
});

describe('the refusal and the headers', () => {
  it('403 with code prompt_injection, in each API’s own error shape', () => {
    const err = promptInjectionRefused();
    expect(err.status).toBe(403);
    const render = (api: FormatId) => JSON.parse(setup({ api, prompt: 'x' }).caller.caller.renderError(err));
    expect(render('openai')).toMatchObject({ error: { type: 'permission_error', code: 'prompt_injection' } });
    expect(render('anthropic')).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect(render('anthropic').error.message).toContain('prompt_injection');
    expect(render('gemini')).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    expect(render('gemini').error.message).toContain('prompt_injection');
    expect(render('ollama').error).toContain('prompt_injection');
  });

  it('x-gateway-guard and x-gateway-guard-score, two decimals that never contradict the verdict', () => {
    const g = (verdict: 'clean' | 'flagged', score: number): GuardScreen => ({ mode: 'monitor', verdict, score, channel: 'user', blocked: false });
    expect(guardHeaders(undefined)).toEqual([]);
    expect(guardHeaders(g('clean', 0.123))).toEqual([
      ['x-gateway-guard', 'clean'],
      ['x-gateway-guard-score', '0.12'],
    ]);
    expect(guardHeaders(g('clean', 0.4991))[1]).toEqual(['x-gateway-guard-score', '0.49']);
    expect(guardHeaders(g('flagged', 0.5))[1]).toEqual(['x-gateway-guard-score', '0.50']);
    expect(guardHeaders(g('flagged', 0.99999))[1]).toEqual(['x-gateway-guard-score', '1.00']);
    const reply = { status: 200, headers: [['x-gateway-cache', 'hit']] as Array<[string, string]>, body: Buffer.from('{}'), details: 'd' };
    expect(withGuardHeaders(reply, undefined)).toBe(reply);
    expect(withGuardHeaders(reply, g('clean', 0.01)).headers).toEqual([
      ['x-gateway-cache', 'hit'],
      ['x-gateway-guard', 'clean'],
      ['x-gateway-guard-score', '0.01'],
    ]);
  });
});

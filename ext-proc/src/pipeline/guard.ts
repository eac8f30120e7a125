import { RESPONSE_HEADER } from '../contract.js';
import { GatewayError } from '../errors.js';
import type { Channel } from '../safety/guard/features.js';
import type { GuardMode, GuardVerdictName } from '../safety/guard/verdict.js';
import type { LocalReply } from '../server/call-handler.js';
import type { HeaderPair } from '../server/codec/messages.js';
import type { Caller } from './caller.js';
import type { ChatRequest } from './chat.js';
import type { GatewayContext } from './context.js';

/** The guard's part in a call: its verdict, and whether the call goes no further. */
export interface GuardScreen {
  mode: Exclude<GuardMode, 'off'>;
  verdict: GuardVerdictName;
  /** 0–1; 0.5 is the verdict line in every channel. */
  score: number;
  /** Channel of the highest-scoring text. */
  channel: Channel | 'none';
  /** Flagged in `block` mode: answered with 403 prompt_injection, never sent to a provider. */
  blocked: boolean;
}

/**
 * Prompt injection and jailbreaks, per the tenant's `guard` (or GUARD_MODE): the caller's turns
 * and the data it passes along (tool results, pasted documents) are scored as the caller sent
 * them, before anything rewrites them (PII redaction comes after); the system prompt is the
 * operator's and is not checked (safety/guard/verdict.ts). `monitor` only reports; `block` also
 * refuses a flagged call. Logs carry the score and where the text was, never the text.
 */
export function screenGuard(gw: GatewayContext, caller: Caller, request: ChatRequest): GuardScreen | undefined {
  const mode = caller.policy?.guard ?? gw.guardMode ?? 'off';
  if (mode === 'off' || !gw.guard) return undefined;
  const v = gw.guard.check(request.chat);
  const blocked = mode === 'block' && v.verdict === 'flagged';
  const tenant = caller.principal.tenant;
  gw.metrics.guardChecks.inc({ tenant, verdict: v.verdict, channel: v.channel, action: blocked ? 'block' : 'pass' });
  if (v.verdict === 'flagged') {
    gw.log.warn(
      { rid: caller.rid, tenant, score: round2(v.score), channel: v.channel, where: v.where, parts: v.parts, action: blocked ? 'block' : 'pass' },
      'prompt-injection guard flagged the call',
    );
  }
  return { mode, verdict: v.verdict, score: v.score, channel: v.channel, blocked };
}

/** The refusal of a blocked call: 403, code `prompt_injection`, in the caller's API. */
export function promptInjectionRefused(): GatewayError {
  return new GatewayError(
    'permission',
    'The request was refused by the gateway (prompt_injection): it looks like an attempt to override the model’s instructions or to jailbreak it.',
    { code: 'prompt_injection' },
  );
}

/** `x-gateway-guard` and `x-gateway-guard-score` on every answer of a checked call (none when the guard is off). */
export function guardHeaders(guard: GuardScreen | undefined): HeaderPair[] {
  return guard
    ? [
        [RESPONSE_HEADER.guard, guard.verdict],
        // Two decimals that never contradict the verdict (a clean 0.497 shows 0.49, not 0.50).
        [RESPONSE_HEADER.guardScore, (guard.verdict === 'clean' ? Math.min(guard.score, 0.49) : guard.score).toFixed(2)],
      ]
    : [];
}

/** A reply the gateway answers itself (an error, a cache hit), with the guard's headers added. */
export function withGuardHeaders(reply: LocalReply, guard: GuardScreen | undefined): LocalReply {
  return guard ? { ...reply, headers: [...reply.headers, ...guardHeaders(guard)] } : reply;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

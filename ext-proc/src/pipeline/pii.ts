import { RESPONSE_HEADER } from '../contract.js';
import { countPii, Redactor } from '../safety/pii/redactor.js';
import { conversationTexts, redactBody, redactCanonical } from '../safety/pii/request.js';
import type { Originals } from '../safety/pii/restore.js';
import type { Counts, PiiMode, PiiType } from '../safety/pii/types.js';
import type { HeaderPair } from '../server/codec/messages.js';
import type { Caller } from './caller.js';
import type { ChatRequest } from './chat.js';
import type { GatewayContext } from './context.js';

/** What PII screening found in a call, and what the answer side must do about it. */
export interface PiiScreen {
  mode: Exclude<PiiMode, 'off'>;
  /** Values found (x-gateway-pii). */
  found: number;
  /** Placeholder → value, when the tenant wants the values back in its answers (and there are any). */
  restore?: Originals;
}

/**
 * Personal data in the prompt, per the tenant's `pii` (or PII_MODE): `detect` counts it and
 * changes nothing; `redact` replaces each value with its placeholder both in the canonical form
 * (what any other API's body is built from) and in the caller's own body (what a backend of the
 * caller's API, a fallback chain and the cache key get), so every later stage sees only the
 * redacted request. The values go no further than this: never logged, never in a label.
 */
export function screenPii(gw: GatewayContext, caller: Caller, request: ChatRequest): { request: ChatRequest; pii?: PiiScreen } {
  const mode = caller.policy?.pii ?? gw.piiMode ?? 'off';
  if (mode === 'off') return { request };
  const tenant = caller.principal.tenant;
  if (mode === 'detect') {
    const counts: Counts = {};
    for (const text of conversationTexts(request.chat)) countPii(text, counts);
    return { request, pii: { mode, found: record(gw, tenant, counts, 'detected') } };
  }
  const r = new Redactor();
  const chat = redactCanonical(request.chat, r);
  const parsed = redactBody(request.parsed, r);
  const found = record(gw, tenant, r.counts, 'redacted');
  const pii: PiiScreen = { mode, found };
  if (caller.policy?.piiRestore && r.originals.size > 0) pii.restore = r.originals;
  if (parsed === request.parsed && chat === request.chat) return { request, pii };
  return { request: { ...request, chat, parsed, rewritten: parsed !== request.parsed }, pii };
}

function record(gw: GatewayContext, tenant: string, counts: Counts, action: 'detected' | 'redacted'): number {
  let total = 0;
  for (const [type, n] of Object.entries(counts) as Array<[PiiType, number]>) {
    gw.metrics.piiDetected.inc({ tenant, type, action }, n);
    total += n;
  }
  return total;
}

/** `x-gateway-pii: <n>` on every answer of a call screened for personal data. */
export function piiHeaders(pii: PiiScreen | undefined): HeaderPair[] {
  return pii ? [[RESPONSE_HEADER.pii, String(pii.found)]] : [];
}

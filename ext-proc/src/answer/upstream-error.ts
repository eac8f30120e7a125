import { GatewayError, kindForStatus } from '../errors.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { WholeDecision } from './policy.js';

/** Logged in place of a provider's text when it refused the gateway's credential. */
export const CREDENTIAL_REJECTED = 'the provider rejected the gateway credential (its text is not logged)';

/**
 * A backend's error answer in the caller's terms. Returns the status to answer with, the body
 * (undefined: pass the provider's own unchanged) and what the log may say about it.
 */
export function upstreamErrorForCaller(
  caller: WireFormat,
  backend: WireFormat,
  status: number,
  text: string,
): { status: number; body: string | undefined; logDetail: string } {
  const parsed = backend.parseError(text);
  const providerMessage = parsed?.message;
  // Gemini answers a bad API key with 400 INVALID_ARGUMENT (reason API_KEY_INVALID): that key is ours.
  if (status === 401 || status === 403 || parsed?.type === 'API_KEY_INVALID') {
    // The provider refused the gateway's own credential: the caller can do nothing about it,
    // and the provider's text may quote the key.
    // Nor does the log get that text: it would put (part of) the platform's key in every log sink.
    const err = new GatewayError('upstream', 'The upstream provider rejected the gateway credentials.', { code: 'upstream_auth_failed' });
    return { status: 502, body: caller.renderError(err), logDetail: CREDENTIAL_REJECTED };
  }
  const logDetail = providerMessage ?? text.slice(0, 200);
  if (providerMessage !== undefined && caller.id === backend.id && status !== 529) return { status, body: undefined, logDetail };
  // Envoy's own replies ("upstream connect error", "no healthy upstream") are plain text, and a
  // backend of another API answers in its own error shape: both are re-rendered for the caller,
  // with a status the caller's API uses (Anthropic's 529 "overloaded" is a 503).
  const mapped = status === 529 ? 503 : status;
  const detail = providerMessage ?? (text.slice(0, 200).trim() || 'no details');
  const err = new GatewayError(kindForStatus(status), `Upstream provider error (HTTP ${status}): ${detail}`, { code: 'upstream_error' });
  return { status: mapped, body: caller.renderError(err), logDetail };
}

/** How a mapped error goes back to Envoy: the provider's body untouched, or ours with its status and length. */
export function errorAnswer(mapped: { status: number; body: string | undefined }): WholeDecision {
  if (mapped.body === undefined) return { set: [], body: undefined };
  const out = Buffer.from(mapped.body, 'utf8');
  return {
    set: [
      [':status', String(mapped.status)],
      ['content-type', 'application/json'],
      ['content-length', String(out.length)],
    ],
    body: out,
  };
}

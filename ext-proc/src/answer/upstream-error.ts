import { type ErrorKind, GatewayError, kindForStatus } from '../errors.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { WholeDecision } from './policy.js';

/** Logged in place of a provider's text when it refused the gateway's credential. */
export const CREDENTIAL_REJECTED = 'the provider rejected the gateway credential (its text is not logged)';

/**
 * What a provider's error status is to the caller. Upstream trouble is a 502, 503 or 504
 * (DESIGN §4): a 500 (or any other 5xx) is the provider failing, a 502 to the caller; Anthropic's
 * 529 "overloaded" is a 503; a provider's 408 means it gave up waiting on the gateway's request,
 * which the caller sent whole, so it is a 504. A 4xx stays the caller's mistake, as the status's
 * kind says (400 for the ones the APIs do not name, e.g. 422 or 431).
 */
export function upstreamErrorKind(status: number): ErrorKind {
  if (status === 503 || status === 529) return 'unavailable';
  if (status === 504 || status === 408) return 'timeout';
  if (status >= 500) return 'upstream';
  return kindForStatus(status);
}

/**
 * A backend's error answer in the caller's terms. Returns the status to answer with, the body
 * (undefined: pass the provider's own unchanged, with that status) and what the log may say about it.
 *
 * A provider of the caller's own API keeps its error body, even where the status changes (a 500
 * answered as 502): OpenAI's, Anthropic's and Ollama's bodies do not state a status, and their
 * SDKs pick the error class and retry by the status alone (both retry 500 and 502), so the
 * provider's message, type and ids reach the caller intact. A body that states its status
 * (Google's `error.code`) is re-rendered when the status changes, so body and status agree.
 * Everything else (another API's error, Envoy's plain text, an HTML page) is re-rendered in the
 * caller's API with the status of its kind, so the two always agree too.
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
  const detail = providerMessage ?? textDetail(text);
  const logDetail = providerMessage ?? text.slice(0, 200);
  const kind = upstreamErrorKind(status);
  // Upstream trouble is a 502, 503 or 504: any other 5xx is a 502.
  const answerStatus = status >= 500 && status !== 503 && status !== 504 ? 502 : status;
  const bodyAgrees = parsed?.status === undefined || parsed.status === answerStatus;
  if (providerMessage !== undefined && caller.id === backend.id && status !== 529 && bodyAgrees) return { status: answerStatus, body: undefined, logDetail };
  // Envoy's own replies ("upstream connect error", "no healthy upstream") are plain text, and a
  // backend of another API answers in its own error shape: both are re-rendered for the caller.
  const err = new GatewayError(kind, `Upstream provider error (HTTP ${status}): ${detail}`, { code: 'upstream_error' });
  return { status: err.status, body: caller.renderError(err), logDetail };
}

/** A readable line from an error body that is not JSON: an HTML page's title (or its text), plain text as it is. */
function textDetail(text: string): string {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
  const plain = (title ?? (text.includes('<') ? text.replace(/<[^>]*>/g, ' ') : text)).replace(/\s+/g, ' ').trim();
  return plain.slice(0, 200) || 'no details';
}

/**
 * How a mapped error goes back to Envoy: ours with its status, type and length; or the
 * provider's body untouched, with the status changed when it must be (`upstreamStatus` was the provider's).
 */
export function errorAnswer(mapped: { status: number; body: string | undefined }, upstreamStatus: number): WholeDecision {
  if (mapped.body === undefined) return { set: mapped.status === upstreamStatus ? [] : [[':status', String(mapped.status)]], body: undefined };
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

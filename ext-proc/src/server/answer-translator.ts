import { GatewayError, kindForStatus } from '../errors.js';
import type { Usage } from '../metering/usage.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { StreamDecoder, StreamEncoder } from '../providers/canonical/types.js';
import { responseId } from '../providers/formats.js';

/**
 * The backend's answer, read for usage and, when caller and backend speak different APIs,
 * rewritten into the caller's: a whole JSON answer at once, a stream event by event as its
 * chunks arrive (nothing is held back beyond an unfinished event).
 */
export class AnswerTranslator {
  usage: Usage | undefined;
  /** The backend stream reached its finish event (a cut stream never does). */
  finished = false;
  private readonly translating: boolean;
  private decoder: StreamDecoder | undefined;
  private encoder: StreamEncoder | undefined;

  constructor(
    private readonly caller: WireFormat,
    private readonly backend: WireFormat,
    private readonly o: { stream: boolean; callerModel: string; includeUsage: boolean },
  ) {
    this.translating = caller.id !== backend.id;
    if (o.stream) {
      this.decoder = backend.createStreamDecoder();
      if (this.translating) {
        this.encoder = caller.createStreamEncoder({ id: responseId(caller.id), model: o.callerModel, created: nowSeconds(), includeUsage: o.includeUsage });
      }
    }
  }

  /** `content-type` of the caller's answer when it is rewritten; undefined when bytes pass unchanged. */
  contentType(): string | undefined {
    if (!this.translating) return undefined;
    return this.o.stream ? this.caller.streamContentType : 'application/json';
  }

  /** One stream chunk; returns the caller's bytes, or undefined to pass the chunk unchanged. */
  chunk(body: Buffer, eos: boolean): Buffer | undefined {
    const events = this.decoder!.push(body);
    if (eos) events.push(...this.decoder!.end());
    for (const e of events) {
      if (e.type === 'usage') this.usage = e.usage;
      else if (e.type === 'finish') this.finished = true;
    }
    if (!this.encoder) return undefined;
    let out = this.encoder.encode(events);
    if (eos) out += this.encoder.end(!this.finished);
    return Buffer.from(out, 'utf8');
  }

  /**
   * A whole (non-stream) answer. Returns the caller's body when translating. An unreadable answer
   * passes unchanged between same-API ends (usage unknown) and is a 502 when it would need translating.
   */
  whole(body: Buffer): { out: Buffer | undefined; readable: boolean } {
    let answer;
    try {
      answer = this.backend.parseResponse(JSON.parse(body.toString('utf8')));
    } catch {
      if (!this.translating) return { out: undefined, readable: false };
      throw new GatewayError('upstream', 'The upstream provider sent an answer the gateway could not read.', { code: 'upstream_invalid_response' });
    }
    this.usage = answer.usage;
    this.finished = true;
    if (!this.translating) return { out: undefined, readable: true };
    const rendered = this.caller.renderResponse(answer, { id: responseId(this.caller.id), model: this.o.callerModel, created: nowSeconds() });
    return { out: Buffer.from(JSON.stringify(rendered), 'utf8'), readable: true };
  }
}

/**
 * A backend's error answer in the caller's terms. Returns the status to answer with, the body
 * (undefined: pass the provider's own unchanged) and the provider's message for the log.
 */
export function upstreamErrorForCaller(
  caller: WireFormat,
  backend: WireFormat,
  status: number,
  text: string,
): { status: number; body: string | undefined; providerMessage: string | undefined } {
  const parsed = backend.parseError(text);
  const providerMessage = parsed?.message;
  // Gemini answers a bad API key with 400 INVALID_ARGUMENT (reason API_KEY_INVALID): that key is ours.
  if (status === 401 || status === 403 || parsed?.type === 'API_KEY_INVALID') {
    // The provider refused the gateway's own credential: the caller can do nothing about it,
    // and the provider's text may quote the key.
    const err = new GatewayError('upstream', 'The upstream provider rejected the gateway credentials.', { code: 'upstream_auth_failed' });
    return { status: 502, body: caller.renderError(err), providerMessage };
  }
  if (providerMessage !== undefined && caller.id === backend.id && status !== 529) return { status, body: undefined, providerMessage };
  // Envoy's own replies ("upstream connect error", "no healthy upstream") are plain text, and a
  // backend of another API answers in its own error shape: both are re-rendered for the caller,
  // with a status the caller's API uses (Anthropic's 529 "overloaded" is a 503).
  const mapped = status === 529 ? 503 : status;
  const detail = providerMessage ?? (text.slice(0, 200).trim() || 'no details');
  const err = new GatewayError(kindForStatus(status), `Upstream provider error (HTTP ${status}): ${detail}`, { code: 'upstream_error' });
  return { status: mapped, body: caller.renderError(err), providerMessage };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

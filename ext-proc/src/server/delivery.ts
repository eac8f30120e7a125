import type { AnswerPolicy, HeadersDecision } from '../answer/policy.js';
import type { ExtProcRequest, ExtProcResponse } from './codec/messages.js';

type Send = (r: ExtProcResponse) => void;
type ResponseMessage = Extract<ExtProcRequest, { kind: 'response_headers' | 'response_body' | 'response_trailers' }>;

/** Carries an answer through Envoy's response-side messages, in the filter's body mode. */
export interface AnswerDelivery {
  message(m: ResponseMessage): void;
  abort(): void;
}

/**
 * FULL_DUPLEX_STREAMED: Envoy sends the response headers and body without waiting, and holds the
 * headers until the processor answers them. A whole answer is collected, then its headers
 * (status, cost) and body go back together: one round trip. A stream's headers are answered at
 * once and each chunk is passed on as soon as it is read.
 */
export class FullDuplexDelivery implements AnswerDelivery {
  private decided: HeadersDecision | undefined;
  private chunks: Buffer[] = [];
  private over = false;

  constructor(
    private readonly policy: AnswerPolicy,
    private readonly send: Send,
  ) {}

  message(m: ResponseMessage): void {
    if (this.over) return;
    if (m.kind === 'response_headers') {
      const d = this.policy.headers(Number(m.headers[':status'] ?? 0), m.headers, m.endOfStream);
      if (m.endOfStream) return this.end({ kind: 'response_headers', response: { headers: d } });
      this.decided = d;
      if (!d.whole) this.send({ kind: 'response_headers', response: { headers: d } });
      return;
    }
    if (m.kind === 'response_trailers') {
      // A body with trailers ends here, not on its last chunk.
      this.body(Buffer.alloc(0), true, false);
      return this.send({ kind: 'response_trailers' });
    }
    this.body(m.body, m.endOfStream, m.endOfStream);
  }

  private body(chunk: Buffer, last: boolean, endOfStream: boolean): void {
    const d = this.decided!;
    if (!d.whole) {
      const out = this.policy.chunk(chunk, last);
      const piece: ExtProcResponse = { kind: 'response_body', response: { body: { streamed: out ?? chunk, endOfStream } } };
      return last ? this.end(piece) : this.send(piece);
    }
    if (chunk.length > 0) this.chunks.push(chunk);
    if (!last) return;
    const original = Buffer.concat(this.chunks);
    this.chunks = [];
    const w = this.policy.whole(original);
    this.send({ kind: 'response_headers', response: { headers: { set: [...d.set, ...w.set], remove: d.remove } } });
    this.end({ kind: 'response_body', response: { body: { streamed: w.body ?? original, endOfStream } } });
  }

  private end(last: ExtProcResponse): void {
    this.over = true;
    sendLast(this.policy, this.send, last);
  }

  abort(): void {
    if (!this.over) this.policy.abort();
    this.over = true;
  }
}

/**
 * Classic mode (a filter configured with a STREAMED response body and mode overrides, such as
 * Envoy Gateway's): the headers are answered first, choosing BUFFERED for a body needed whole and
 * STREAMED otherwise; header changes that depend on the body go with the buffered body.
 */
export class ClassicDelivery implements AnswerDelivery {
  private whole = false;
  private over = false;

  constructor(
    private readonly policy: AnswerPolicy,
    private readonly send: Send,
  ) {}

  message(m: ResponseMessage): void {
    if (this.over) return;
    if (m.kind === 'response_headers') {
      const d = this.policy.headers(Number(m.headers[':status'] ?? 0), m.headers, m.endOfStream);
      if (m.endOfStream) return this.end({ kind: 'response_headers', response: { headers: d } });
      this.whole = d.whole;
      const mode = d.whole ? 'BUFFERED' : 'STREAMED';
      this.send({ kind: 'response_headers', response: { headers: d }, modeOverride: { responseBodyMode: mode, responseTrailerMode: 'SKIP' } });
      return;
    }
    if (m.kind === 'response_trailers') return this.send({ kind: 'response_trailers' });
    if (this.whole) {
      const w = this.policy.whole(m.body);
      const set = w.body ? [...w.set, ['content-length', String(w.body.length)] as const] : w.set;
      return this.end({ kind: 'response_body', response: { headers: { set }, body: w.body ? { replace: w.body } : undefined } });
    }
    const out = this.policy.chunk(m.body, m.endOfStream);
    const piece: ExtProcResponse = { kind: 'response_body', response: { body: out ? { replace: out } : undefined } };
    if (m.endOfStream) this.end(piece);
    else this.send(piece);
  }

  private end(last: ExtProcResponse): void {
    this.over = true;
    sendLast(this.policy, this.send, last);
  }

  abort(): void {
    if (!this.over) this.policy.abort();
    this.over = true;
  }
}

/** The answer's last message carries the usage record. */
function sendLast(policy: AnswerPolicy, send: Send, last: ExtProcResponse): void {
  const metadata = policy.metadata();
  send(metadata ? { ...last, metadata } : last);
}

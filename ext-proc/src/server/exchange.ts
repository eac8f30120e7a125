import { GatewayError, kindForStatus } from '../errors.js';
import type { CallHandler, HeadResult, LocalReply } from './call-handler.js';
import type { ExtProcRequest, ExtProcResponse, HeaderRecord, ProtocolConfig } from './codec/messages.js';
import { ClassicDelivery, FullDuplexDelivery, type AnswerDelivery } from './delivery.js';

type Send = (r: ExtProcResponse) => void;

/** Where the exchange stands; state that exists only in a phase lives in that phase's value. */
type Phase<Ctx> =
  | { name: 'head' }
  | { name: 'body'; head: Promise<HeadResult<Ctx>>; chunks: Buffer[]; bytes: number; count: number }
  | { name: 'deciding' }
  | { name: 'answer'; delivery: AnswerDelivery }
  | { name: 'done' };

/**
 * One call as Envoy streams it to the processor, on one gRPC stream: request headers, request
 * body, response headers, response body. The handler decides; this only sequences. With the
 * gateway's own filter configuration the request body arrives without waiting for the headers'
 * answer, so both are answered together once the body is whole (one round trip); a classic
 * configuration (request body BUFFERED) gets the headers answered first.
 */
export class Exchange<Ctx> {
  private phase: Phase<Ctx> = { name: 'head' };
  private classic = true;
  private fullDuplex = false;

  constructor(
    private readonly handler: CallHandler<Ctx>,
    private readonly send: Send,
    private readonly maxBodyBytes: number,
  ) {}

  message(m: ExtProcRequest): void {
    try {
      this.dispatch(m);
    } catch (err) {
      // A failure while answering: the call ends here, with an error in the caller's API.
      const p = this.phase;
      if (p.name === 'answer') p.delivery.abort();
      this.fail(err);
    }
  }

  private dispatch(m: ExtProcRequest): void {
    const p = this.phase;
    // Answered (an immediate response ends the call for Envoy) or closed: nothing more is sent.
    if (p.name === 'done') return;
    // Envoy sends the request headers first, always: anything else first is refused, not ignored
    // (left unanswered, it would hold the call until Envoy's message timeout).
    if (p.name === 'head' && m.kind !== 'request_headers')
      return this.fail(new GatewayError('internal', `The proxy sent ${m.kind} before the request headers.`));
    switch (m.kind) {
      case 'request_headers':
        if (p.name !== 'head') return this.fail(new GatewayError('internal', 'Request headers arrived twice.'));
        return this.onHead(m.headers, m, m.endOfStream);
      case 'request_body':
        if (p.name !== 'body') return; // already answered (an early refusal): the rest of the body is moot
        return this.onBodyChunk(p, m.body, m.endOfStream);
      case 'request_trailers':
        return this.send({ kind: 'request_trailers' });
      default:
        if (m.kind === 'response_headers' && p.name === 'body') return this.cutShort(p, m.headers);
        if (p.name === 'answer') p.delivery.message(m);
        else if (m.kind === 'response_trailers') this.send({ kind: 'response_trailers' });
    }
  }

  /** Envoy ended the stream: an answer cut short is still metered. */
  close(): void {
    const p = this.phase;
    if (p.name === 'answer') p.delivery.abort();
    this.phase = { name: 'done' };
  }

  private onHead(headers: HeaderRecord, first: ExtProcRequest, endOfStream: boolean): void {
    const mode = modeOf(first.protocol);
    this.classic = mode.classic;
    this.fullDuplex = mode.fullDuplex;
    const head = this.handler.head(headers, first);
    if (endOfStream) return this.decide(head, Buffer.alloc(0), 0);
    const phase: Phase<Ctx> = { name: 'body', head, chunks: [], bytes: 0, count: 0 };
    this.phase = phase;
    head.then(
      (h) => {
        if (this.phase !== phase) return;
        // A refusal goes out at once, whatever is still to come of the body.
        if ('reply' in h) return this.reply(h.reply);
        if (this.classic) this.send({ kind: 'request_headers', response: { headers: { remove: h.strip } } });
      },
      (err: unknown) => this.fail(err),
    );
  }

  private onBodyChunk(p: Extract<Phase<Ctx>, { name: 'body' }>, chunk: Buffer, endOfStream: boolean): void {
    p.count++;
    p.bytes += chunk.length;
    if (p.bytes > this.maxBodyBytes) {
      // Refused as soon as it is known, in the caller's API (which the headers' stage knows).
      const err = tooLarge(p.bytes, this.maxBodyBytes);
      this.phase = { name: 'deciding' };
      p.head.then(
        (h) => this.reply('reply' in h ? h.reply : this.handler.failure(err, h.ctx)),
        (e: unknown) => this.fail(e),
      );
      return;
    }
    if (chunk.length > 0) p.chunks.push(chunk);
    if (endOfStream) this.decide(p.head, p.chunks.length === 1 ? p.chunks[0]! : Buffer.concat(p.chunks, p.bytes), p.count);
  }

  /**
   * Envoy answered the caller itself before the request was whole: its receive timeout (a body
   * shorter than announced) or its buffer limit. That reply carries Envoy's plain text and waits
   * on this stream; it goes out instead in the caller's API, named for what happened.
   */
  private cutShort(p: Extract<Phase<Ctx>, { name: 'body' }>, headers: HeaderRecord): void {
    this.phase = { name: 'deciding' };
    const err = envoyCutShort(Number(headers[':status']), p.bytes);
    p.head.then(
      (h) => this.reply('reply' in h ? h.reply : this.handler.failure(err, h.ctx)),
      (e: unknown) => this.fail(e),
    );
  }

  private decide(head: Promise<HeadResult<Ctx>>, body: Buffer, chunks: number): void {
    this.decideAsync(head, body, chunks).catch((err: unknown) => this.fail(err));
  }

  private async decideAsync(headPromise: Promise<HeadResult<Ctx>>, body: Buffer, chunks: number): Promise<void> {
    const deciding: Phase<Ctx> = { name: 'deciding' };
    this.phase = deciding;
    const head = await headPromise;
    // Ended meanwhile (Envoy closed the stream, or it was refused): the body is not looked at.
    if (this.phase !== deciding) return;
    if ('reply' in head) return this.reply(head.reply);
    const out = await this.handler.body(head.ctx, body);
    if ('reply' in out) return this.reply(out.reply);
    const f = out.forward;
    if (this.phase !== deciding) return f.answer.abort();
    const body_ = f.body ? { replace: f.body } : undefined;
    if (this.classic) {
      // Headers were answered already; the routing changes ride with the (buffered) body.
      this.send({
        kind: 'request_body',
        response: { headers: { set: f.set, remove: f.remove }, body: body_, clearRouteCache: f.clearRouteCache },
        metadata: f.metadata,
      });
    } else {
      this.send({
        kind: 'request_headers',
        response: { headers: { set: f.set, remove: [...head.strip, ...f.remove] }, clearRouteCache: f.clearRouteCache },
        metadata: f.metadata,
      });
      // One answer per body chunk Envoy sent: the first carries a replacement body, the rest go.
      for (let i = 0; i < chunks; i++) this.send({ kind: 'request_body', response: { body: body_ && (i === 0 ? body_ : { clear: true }) } });
    }
    this.phase = { name: 'answer', delivery: this.fullDuplex ? new FullDuplexDelivery(f.answer, this.send) : new ClassicDelivery(f.answer, this.send) };
  }

  private reply(r: LocalReply): void {
    // One answer per call: a decision still pending when the call was refused or ended is moot.
    if (this.phase.name === 'done') return;
    this.phase = { name: 'done' };
    this.send({ kind: 'immediate', status: r.status, headers: r.headers, body: r.body, details: r.details, metadata: r.metadata });
  }

  private fail(err: unknown): void {
    if (this.phase.name === 'done') return;
    this.reply(this.handler.failure(err));
  }
}

/**
 * The filter's configuration, as Envoy states it in the stream's first message. Without it (an
 * older Envoy), the classic behaviour is assumed.
 */
function modeOf(p: ProtocolConfig | undefined): { classic: boolean; fullDuplex: boolean } {
  return {
    classic: !(p?.sendBodyWithoutWaitingForHeaderResponse === true && p.requestBodyMode === 'STREAMED'),
    fullDuplex: p?.responseBodyMode === 'FULL_DUPLEX_STREAMED',
  };
}

function envoyCutShort(status: number, received: number): GatewayError {
  if (status === 408) {
    return new GatewayError('request_timeout', `The request was not received in time: ${received} bytes of its body arrived. Check its content-length.`, {
      code: 'request_timeout',
    });
  }
  if (status === 413) return new GatewayError('too_large', 'The request body exceeds the gateway limit.', { code: 'request_too_large' });
  return new GatewayError(kindForStatus(status), `The gateway ended the request before it was whole (HTTP ${status}).`);
}

function tooLarge(bytes: number, max: number): GatewayError {
  return new GatewayError('too_large', `Request body of at least ${bytes} bytes exceeds the gateway limit of ${max} bytes.`, { code: 'request_too_large' });
}

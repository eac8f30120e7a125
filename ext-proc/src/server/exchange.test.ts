/*
 * Regression tests for the exchange's sequencing, one per fault the fuzzing in
 * grpc-handler.fuzz.test.ts found: messages Envoy would not send in that order, and a call that
 * ends while its decision is still pending. The handler here is a stand-in whose stages resolve
 * when the test says so.
 */
import { describe, expect, it } from 'vitest';
import type { AnswerPolicy } from '../answer/policy.js';
import { GatewayError } from '../errors.js';
import type { BodyResult, CallHandler, HeadResult, LocalReply } from './call-handler.js';
import type { ExtProcRequest, ExtProcResponse } from './codec/messages.js';
import { Exchange } from './exchange.js';

const reply = (status: number, details: string): LocalReply => ({ status, headers: [], body: Buffer.from(details), details });

/**
 * A handler whose head stage waits for `decideHead` (and its body stage for `decideBody`, when
 * `holdBody`); it counts body stages and aborted answers.
 */
function harness(holdBody = false) {
  let decideHead: (r: HeadResult<string>) => void = () => undefined;
  let decideBody: () => void = () => undefined;
  const counts = { body: 0, aborted: 0 };
  const answer: AnswerPolicy = {
    headers: () => ({ set: [], remove: [], whole: false }),
    chunk: () => undefined,
    whole: () => ({ set: [], body: undefined }),
    metadata: () => undefined,
    abort: () => void counts.aborted++,
  };
  const handler: CallHandler<string> = {
    head: () => new Promise((resolve) => (decideHead = resolve)),
    async body(): Promise<BodyResult> {
      counts.body++;
      if (holdBody) await new Promise<void>((resolve) => (decideBody = resolve));
      return { forward: { set: [['x-gateway-cluster', 'c']], remove: [], body: undefined, clearRouteCache: true, answer } };
    },
    failure: (err) => reply(err instanceof GatewayError ? err.status : 500, err instanceof Error ? err.message : String(err)),
  };
  const sent: ExtProcResponse[] = [];
  const exchange = new Exchange(handler, (r) => sent.push(r), 1024);
  return { exchange, sent, counts, decideHead: (r: HeadResult<string>) => decideHead(r), decideBody: () => decideBody() };
}

const settle = () => new Promise((r) => setTimeout(r, 10));
const headers = (endOfStream: boolean): ExtProcRequest => ({ kind: 'request_headers', headers: { ':path': '/v1/chat/completions' }, endOfStream });
const kinds = (sent: ExtProcResponse[]) => sent.map((r) => r.kind);

describe('Exchange', () => {
  it('request headers again while the first are decided: one immediate response, and the call is not forwarded', async () => {
    const h = harness();
    h.exchange.message(headers(true));
    h.exchange.message(headers(true));
    expect(kinds(h.sent)).toEqual(['immediate']);
    h.decideHead({ ctx: 'c', strip: [] });
    await settle();
    expect(kinds(h.sent)).toEqual(['immediate']);
    expect(h.counts.body).toBe(0);
  });

  it('request headers again while a refusal is decided: still one immediate response', async () => {
    const h = harness();
    h.exchange.message(headers(true));
    h.exchange.message(headers(true));
    h.decideHead({ reply: reply(401, 'no key') });
    await settle();
    expect(kinds(h.sent)).toEqual(['immediate']);
  });

  it('a body over the limit, then request headers again: one immediate response', async () => {
    const h = harness();
    h.exchange.message(headers(false));
    h.exchange.message({ kind: 'request_body', body: Buffer.alloc(2048), endOfStream: false });
    h.exchange.message(headers(true));
    h.decideHead({ ctx: 'c', strip: [] });
    await settle();
    expect(kinds(h.sent)).toEqual(['immediate']);
  });

  it('request headers again while the body stage runs: one immediate response, the answer given up', async () => {
    const h = harness(true);
    h.exchange.message(headers(true));
    h.decideHead({ ctx: 'c', strip: [] });
    await settle();
    expect(h.counts.body).toBe(1);
    h.exchange.message(headers(true));
    h.decideBody();
    await settle();
    expect(kinds(h.sent)).toEqual(['immediate']);
    expect(h.counts.aborted).toBe(1);
  });

  it('closed while its headers are decided: the body stage never runs', async () => {
    const h = harness();
    h.exchange.message(headers(true));
    h.exchange.close();
    h.decideHead({ ctx: 'c', strip: [] });
    await settle();
    expect(h.counts.body).toBe(0);
    expect(h.sent).toEqual([]);
  });

  it('a message before the request headers is refused at once, not left unanswered', () => {
    const first: ExtProcRequest[] = [
      { kind: 'request_body', body: Buffer.from('{}'), endOfStream: true },
      { kind: 'request_trailers' },
      { kind: 'response_headers', headers: { ':status': '200' }, endOfStream: false },
      { kind: 'response_body', body: Buffer.from('x'), endOfStream: true },
      { kind: 'response_trailers' },
    ];
    for (const m of first) {
      const h = harness();
      h.exchange.message(m);
      expect(kinds(h.sent), m.kind).toEqual(['immediate']);
      expect(h.sent[0]).toMatchObject({ kind: 'immediate', status: 500 });
    }
  });

  it('after an immediate response nothing more is answered', async () => {
    const h = harness();
    h.exchange.message(headers(false));
    h.decideHead({ reply: reply(401, 'no key') });
    await settle();
    expect(kinds(h.sent)).toEqual(['immediate']);
    h.exchange.message({ kind: 'request_trailers' });
    h.exchange.message({ kind: 'response_trailers' });
    h.exchange.message({ kind: 'request_body', body: Buffer.from('{}'), endOfStream: true });
    expect(kinds(h.sent)).toEqual(['immediate']);
  });

  it('a well-ordered call is still forwarded (the reference for the above)', async () => {
    const h = harness();
    h.exchange.message(headers(true));
    h.decideHead({ ctx: 'c', strip: [] });
    await settle();
    expect(h.counts.body).toBe(1);
    expect(kinds(h.sent)).toEqual(['request_body']);
  });
});

/*
 * Properties of the processor's gRPC stream handling, which it does itself on node:http2
 * (h2-grpc.ts) rather than through a gRPC library, so nothing else stands between a peer's bytes
 * and the processor. Driven from a raw node:http2 client, which sets flags, lengths and resets
 * exactly as a faulty or hostile peer would:
 *
 * framing (h2-grpc.ts, with an echo method: every message handled comes back as it was)
 * - length-prefixed messages split at any byte boundaries, over any DATA frames, are each handled
 *   once, in order, and a half-closed stream then ends with OK;
 * - a message with the compressed flag set ends the stream with INTERNAL; a declared length over
 *   the maximum ends it with RESOURCE_EXHAUSTED from its 5-byte prefix alone (nothing of it is
 *   waited for); a stream that ends inside a message ends with INTERNAL, not OK. A refused stream
 *   is then reset (NO_ERROR), so a peer that keeps sending cannot keep it open;
 * - a stream reset (RST_STREAM) anywhere closes its handler exactly once; the connection serves on;
 * - many concurrent streams on one connection, each with its own faults, do not disturb each other;
 * - a stream without the processor token, or to an unknown method, gets a trailers-only answer;
 *
 * exchange (the real gateway, started in-process with a PROCESSOR_TOKEN)
 * - ext_proc messages in any order (request headers twice, bodies before headers, response
 *   messages first, trailers anywhere, end_of_stream that contradicts itself), mixed with framing
 *   faults, resets and half-closes: every answer is a valid ProcessingResponse, at most one is an
 *   immediate response and nothing follows it, the stream ends (within a bound) with OK or the
 *   fault's gRPC status, and afterwards a well-formed call and the health service still work;
 * - a stream whose first message is not the request headers is refused at once (fail closed).
 */
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import type * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extProcPackageDefinition } from '../../../protos/ext-proc.js';
import { decodeResponse, encodeRequest, GATEWAY_PROTOCOL, type PeerRequest, type PeerResponse } from '../../../test/helpers/ext-proc-peer.js';
import { cuts, runs, splitAt } from '../../../test/helpers/fuzz.js';
import { EXT_PROC_SERVICE, PROCESSOR_TOKEN_HEADER } from '../contract.js';
import { readEnv } from '../config/env.js';
import { startGateway, type Gateway } from '../gateway.js';
import { ProtoDecodeError } from './codec/protobuf.js';
import { type BidiMethod, GRPC_STATUS, type H2GrpcServer, MessageReader, startH2GrpcServer } from './h2-grpc.js';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
const RESET_CODES = [NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM];
/** How long any stream may take to end once its peer is done with it. */
const SETTLE_MS = 3000;

// ---- a raw gRPC peer --------------------------------------------------------------------------

/** One gRPC message as it goes on the wire: flag, declared length, bytes. */
function frame(msg: Uint8Array, flag = 0, declared = msg.length): Buffer {
  const out = Buffer.alloc(5 + msg.length);
  out[0] = flag;
  out.writeUInt32BE(declared, 1);
  out.set(msg, 5);
  return out;
}

/** Splits what the server sent into its messages; every one must be a well-formed, uncompressed frame. */
function unframe(data: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let at = 0;
  while (data.length - at >= 5) {
    expect(data[at], 'the server never compresses').toBe(0);
    const len = data.readUInt32BE(at + 1);
    if (data.length - at - 5 < len) break;
    messages.push(data.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return { messages, rest: data.subarray(at) };
}

interface Outcome {
  /** grpc-status from the trailers, or from a trailers-only answer. */
  status: string | undefined;
  message: string | undefined;
  data: Buffer;
  /** The server ended its side (END_STREAM). */
  ended: boolean;
  closed: boolean;
  rstCode: number | undefined;
}

type Step = { op: 'write'; bytes: Buffer } | { op: 'flush' } | { op: 'end' } | { op: 'reset'; code: number } | { op: 'wait'; ms: number };

/** One stream from the raw client: the steps are taken in order, the outcome is watched throughout. */
class RawCall {
  readonly stream: http2.ClientHttp2Stream;
  readonly outcome: Outcome = { status: undefined, message: undefined, data: Buffer.alloc(0), ended: false, closed: false, rstCode: undefined };
  private readonly chunks: Buffer[] = [];
  private waiters: Array<() => void> = [];

  constructor(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}) {
    this.stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const s = this.stream;
    s.on('response', (h) => this.status(h));
    s.on('trailers', (t) => this.status(t));
    s.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.wake();
    });
    s.on('end', () => {
      this.outcome.ended = true;
      this.wake();
    });
    s.on('close', () => {
      this.outcome.closed = true;
      this.outcome.rstCode = s.rstCode;
      this.wake();
    });
    // A reset or a write after the server's reset: the outcome says what happened.
    s.on('error', () => undefined);
  }

  private status(h: http2.IncomingHttpHeaders): void {
    if (h['grpc-status'] !== undefined) this.outcome.status = String(h['grpc-status']);
    if (h['grpc-message'] !== undefined) this.outcome.message = decodeURIComponent(String(h['grpc-message']));
  }

  private wake(): void {
    this.outcome.data = Buffer.concat(this.chunks);
    for (const w of this.waiters.splice(0)) w();
  }

  async run(steps: readonly Step[]): Promise<void> {
    for (const step of steps) {
      if (this.outcome.closed) return;
      switch (step.op) {
        case 'write':
          if (!this.stream.writableEnded) this.stream.write(step.bytes);
          break;
        case 'flush':
          // Lets what was written leave as its own DATA frame(s).
          await new Promise((r) => setImmediate(r));
          break;
        case 'wait':
          await new Promise((r) => setTimeout(r, step.ms));
          break;
        case 'end':
          if (!this.stream.writableEnded) this.stream.end();
          break;
        case 'reset':
          // The request's HEADERS leave first. node:http2's client (Node 20) spins in native code,
          // allocating until it aborts with std::bad_alloc, when it resets a stream whose HEADERS
          // are still queued after the server has reset another stream this client had not ended.
          // That is the test client's fault (the server, in another process, is unaffected).
          await new Promise((r) => setImmediate(r));
          this.stream.close(step.code);
          break;
      }
    }
  }

  /** Resolves once `done` holds (checked on every event), or fails after `ms`. */
  async until(done: (o: Outcome) => boolean, what: string, ms = SETTLE_MS): Promise<Outcome> {
    const deadline = Date.now() + ms;
    while (!done(this.outcome)) {
      if (Date.now() > deadline)
        throw new Error(`stream did not ${what} within ${ms} ms: ${JSON.stringify({ ...this.outcome, data: this.outcome.data.length })}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 25);
      });
    }
    return this.outcome;
  }

  /**
   * After this side reset the stream: the server must release it. (node:http2 may never emit
   * 'close' for a client stream reset with NO_ERROR while its writes were in flight: it waits for
   * them to finish. That is the test client's own state, so it is dropped here.)
   */
  async released(active: () => number): Promise<void> {
    await eventually(() => active() === 0, 'the server releasing every stream');
    if (!this.stream.destroyed) this.stream.destroy();
  }

  /** The server's end of the stream: its trailers (or a reset). */
  finished(ms?: number): Promise<Outcome> {
    return this.until((o) => o.ended || o.closed, 'end', ms);
  }
}

async function eventually(cond: () => boolean, what: string, ms = SETTLE_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** grpc.health.v1.Health/Check for `service`: the status it reports (1 SERVING). */
async function healthCheck(session: http2.ClientHttp2Session, service: string): Promise<{ status: string | undefined; serving: number | undefined }> {
  const call = new RawCall(session, '/grpc.health.v1.Health/Check');
  const name = Buffer.from(service);
  await call.run([{ op: 'write', bytes: frame(Buffer.concat([Buffer.from([0x0a, name.length]), name])) }, { op: 'end' }]);
  const o = await call.finished();
  const [msg] = unframe(o.data).messages;
  return { status: o.status, serving: msg?.[1] };
}

/** Cuts bytes into writes at the given offsets, each followed (or not) by a flush. */
function writes(bytes: Buffer, at: readonly number[], flushes: readonly boolean[]): Step[] {
  return splitAt(bytes, at).flatMap((piece, i): Step[] =>
    flushes[i % Math.max(flushes.length, 1)] ? [{ op: 'write', bytes: piece }, { op: 'flush' }] : [{ op: 'write', bytes: piece }],
  );
}

// ---- framing, against an echo method ----------------------------------------------------------

const MAX = 4096;
const ECHO_PATH = '/fuzz.Echo/Chat';
const ECHO_TOKEN = 'echo-token';
/** A message starting with this byte cannot be decoded (the codec's error). */
const UNDECODABLE = 0xee;

const echoStats = { opened: 0, closed: 0, closedTwice: 0 };
const echoMethod: BidiMethod<Buffer, Buffer> = {
  path: ECHO_PATH,
  decode(buf) {
    if (buf[0] === UNDECODABLE) throw new ProtoDecodeError('undecodable');
    return Buffer.from(buf);
  },
  encodeFramed: (res) => Buffer.concat([Buffer.alloc(5), res]),
  open(stream) {
    echoStats.opened++;
    let closed = false;
    return {
      message: (m) => stream.send(m),
      close() {
        if (closed) echoStats.closedTwice++;
        closed = true;
        echoStats.closed++;
      },
    };
  },
};

/** What the server must make of the bytes of one stream (the reference, message by message). */
function expectedOf(bytes: Buffer, ended: boolean): { messages: Buffer[]; status: string | undefined; fault: boolean } {
  const messages: Buffer[] = [];
  let at = 0;
  while (bytes.length - at >= 5) {
    if (bytes[at] !== 0) return { messages, status: GRPC_STATUS.INTERNAL, fault: true };
    const len = bytes.readUInt32BE(at + 1);
    if (len > MAX) return { messages, status: GRPC_STATUS.RESOURCE_EXHAUSTED, fault: true };
    if (bytes.length - at - 5 < len) break;
    const msg = bytes.subarray(at + 5, at + 5 + len);
    if (msg[0] === UNDECODABLE) return { messages, status: GRPC_STATUS.INTERNAL, fault: true };
    messages.push(msg);
    at += 5 + len;
  }
  if (!ended) return { messages, status: undefined, fault: false };
  // The peer ended the stream inside a message: that message is lost, and the stream is not OK.
  return at < bytes.length ? { messages, status: GRPC_STATUS.INTERNAL, fault: true } : { messages, status: GRPC_STATUS.OK, fault: false };
}

const small = fc.uint8Array({ maxLength: 160 }).map((b) => {
  const m = Buffer.from(b);
  if (m[0] === UNDECODABLE) m[0] = 0;
  return m;
});
/** Messages as a peer sends them: mostly small, now and then exactly at the limit. */
const message = fc.oneof({ weight: 12, arbitrary: small }, { weight: 1, arbitrary: fc.constantFrom(MAX, MAX - 1).map((n) => Buffer.alloc(n, 7)) });
const messages = fc.array(message, { maxLength: 8 });
const flushes = fc.array(fc.boolean(), { minLength: 1, maxLength: 8 });

/** A fault to put among the messages. */
type Fault =
  | { kind: 'compressed'; flag: number; msg: Buffer }
  | { kind: 'oversize'; declared: number; sent: Buffer }
  | { kind: 'undecodable'; msg: Buffer }
  | { kind: 'truncated'; msg: Buffer; keep: number };

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant('compressed' as const), flag: fc.integer({ min: 1, max: 255 }), msg: small }),
  fc.record({
    kind: fc.constant('oversize' as const),
    declared: fc.oneof(fc.constant(MAX + 1), fc.integer({ min: MAX + 1, max: 0xffff_ffff }), fc.constant(0xffff_ffff)),
    // Some of what the declared length promises: never all of it.
    sent: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  }),
  fc.record({ kind: fc.constant('undecodable' as const), msg: small.map((m) => Buffer.concat([Buffer.from([UNDECODABLE]), m])) }),
  fc.record({ kind: fc.constant('truncated' as const), msg: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)), keep: fc.nat() }),
);

function faultBytes(f: Fault): Buffer {
  switch (f.kind) {
    case 'compressed':
      return frame(f.msg, f.flag);
    case 'oversize':
      return Buffer.concat([frame(Buffer.alloc(0), 0, f.declared), f.sent]);
    case 'undecodable':
      return frame(f.msg);
    case 'truncated':
      // The prefix promises the whole message; part of it (or only part of the prefix) arrives.
      return frame(f.msg).subarray(0, f.keep % (5 + f.msg.length));
  }
}

let echo: H2GrpcServer;
let echoSession: http2.ClientHttp2Session;
const transportErrors: Error[] = [];

async function echoSettled(): Promise<void> {
  await eventually(() => echo.activeStreams() === 0, 'every echo stream released');
  expect(echoStats.closed).toBe(echoStats.opened);
  expect(echoStats.closedTwice).toBe(0);
}

beforeAll(async () => {
  echo = await startH2GrpcServer({
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: MAX,
    methods: [echoMethod],
    healthServices: ['fuzz.Echo'],
    authorize: (h) => h['x-echo-token'] === ECHO_TOKEN,
    onError: (e) => transportErrors.push(e),
  });
  echoSession = http2.connect(`http://127.0.0.1:${echo.port}`);
  echoSession.on('error', () => undefined);
});

afterAll(async () => {
  echoSession?.close();
  await echo?.shutdown(500);
});

const echoCall = (session = echoSession) => new RawCall(session, ECHO_PATH, { 'x-echo-token': ECHO_TOKEN });

describe('MessageReader', () => {
  it('yields the same messages however the bytes are split, and refuses a bad prefix as soon as it is whole', () => {
    fc.assert(
      fc.property(messages, fc.option(fault, { nil: undefined }), messages, cuts, (msgs, f, after, at) => {
        const bytes = Buffer.concat([
          ...msgs.map((m) => frame(m)),
          f ? faultBytes(f) : Buffer.alloc(0),
          ...(f?.kind === 'truncated' ? [] : after.map((m) => frame(m))),
        ]);
        const want = expectedOf(bytes, false);
        const reader = new MessageReader(MAX);
        const got: Buffer[] = [];
        let fed = 0;
        let refusedAt: [number, number] | undefined;
        for (const piece of splitAt(bytes, at)) {
          got.push(...reader.push(piece));
          if (reader.error && !refusedAt) refusedAt = [fed, fed + piece.length];
          fed += piece.length;
        }
        const hex = (ms: readonly Buffer[]) => ms.map((m) => m.toString('hex'));
        if (f?.kind === 'compressed' || f?.kind === 'oversize') {
          expect(reader.error?.status).toBe(want.status);
          // Refused on the very piece that completed the bad prefix: not before it.
          const prefixEnd = msgs.reduce((n, m) => n + 5 + m.length, 0) + 5;
          expect(refusedAt![0]).toBeLessThan(prefixEnd);
          expect(refusedAt![1]).toBeGreaterThanOrEqual(prefixEnd);
          // Every message whole before it was handed out, in order, and nothing after it; nothing is held.
          expect(hex(got)).toEqual(hex(want.messages));
          expect(reader.pending()).toBe(false);
        } else {
          expect(reader.error).toBeUndefined();
          // Every whole message, an undecodable one included (decoding is not the reader's job).
          const whole = f?.kind === 'undecodable' ? [...msgs, frame(f.msg).subarray(5), ...after] : want.messages;
          expect(hex(got)).toEqual(hex(whole));
          expect(reader.pending()).toBe(f?.kind === 'truncated' && f.keep % (5 + f.msg.length) > 0);
        }
      }),
      runs(800),
    );
  });
});

describe('gRPC framing (h2-grpc.ts)', () => {
  it('messages split at any byte boundaries, over any DATA frames, are each handled once, in order; then OK', async () => {
    await fc.assert(
      fc.asyncProperty(messages, cuts, flushes, async (msgs, at, fl) => {
        const bytes = Buffer.concat(msgs.map((m) => frame(m)));
        const call = echoCall();
        await call.run([...writes(bytes, at, fl), { op: 'end' }]);
        const o = await call.finished();
        const { messages: back, rest } = unframe(o.data);
        expect(rest.length).toBe(0);
        expect(back.map((m) => m.toString('hex'))).toEqual(msgs.map((m) => m.toString('hex')));
        expect(o.status).toBe(GRPC_STATUS.OK);
        await echoSettled();
      }),
      runs(200),
    );
  });

  it('a fault (compressed flag, oversize length, undecodable or truncated message) gets its gRPC status, ended or not', async () => {
    await fc.assert(
      fc.asyncProperty(messages, fault, messages, cuts, flushes, fc.boolean(), async (before, f, after, at, fl, peerEnds) => {
        // A truncated message is only known as such when the stream ends.
        const ends = peerEnds || f.kind === 'truncated';
        const bytes = Buffer.concat([...before.map((m) => frame(m)), faultBytes(f), ...(f.kind === 'truncated' ? [] : after.map((m) => frame(m)))]);
        const want = expectedOf(bytes, ends);
        const call = echoCall();
        await call.run([...writes(bytes, at, fl), ...(ends ? [{ op: 'end' } as const] : [])]);
        const o = await call.finished();
        expect(o.status).toBe(want.status);
        if (want.fault) expect(o.message).toBeTruthy();
        const { messages: back, rest } = unframe(o.data);
        expect(rest.length).toBe(0);
        // Every message whole before the fault was handled, however the bytes were cut; none after it.
        expect(back.map((m) => m.toString('hex'))).toEqual(want.messages.map((m) => m.toString('hex')));
        // A refused stream does not wait for its peer: it is closed (reset after the trailers).
        await call.until((x) => x.closed, 'close');
        await echoSettled();
      }),
      runs(250),
    );
  });

  it('an oversize length is refused from its prefix alone, before any of the message is sent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: MAX + 1, max: 0xffff_ffff }), fc.nat(4), async (declared, cut) => {
        const call = echoCall();
        const prefix = frame(Buffer.alloc(0), 0, declared);
        await call.run([{ op: 'write', bytes: prefix.subarray(0, cut) }, { op: 'flush' }, { op: 'write', bytes: prefix.subarray(cut) }]);
        const o = await call.finished();
        expect(o.status).toBe(GRPC_STATUS.RESOURCE_EXHAUSTED);
        // The peer may go on sending what it declared: the stream is gone, nothing of it is taken.
        await call.run([{ op: 'write', bytes: Buffer.alloc(64 * 1024) }, { op: 'flush' }]);
        await call.until((x) => x.closed, 'close');
        await echoSettled();
      }),
      runs(100),
    );
  });

  it('a stream reset at any point closes its handler exactly once, and the connection serves on', async () => {
    await fc.assert(
      fc.asyncProperty(
        messages,
        fc.option(fault, { nil: undefined }),
        cuts,
        flushes,
        fc.nat(),
        fc.constantFrom(...RESET_CODES),
        async (msgs, f, at, fl, where, code) => {
          const bytes = Buffer.concat([...msgs.map((m) => frame(m)), f ? faultBytes(f) : Buffer.alloc(0)]);
          const steps = writes(bytes, at, fl);
          const call = echoCall();
          await call.run([...steps.slice(0, where % (steps.length + 1)), { op: 'reset', code }]);
          await call.released(echo.activeStreams);
          await echoSettled();
          // What came back before the reset is the stream's own messages, in order.
          const back = unframe(call.outcome.data).messages.map((m) => m.toString('hex'));
          expect(back).toEqual(
            expectedOf(bytes, false)
              .messages.slice(0, back.length)
              .map((m) => m.toString('hex')),
          );
          // The same connection still carries a well-formed call.
          const next = echoCall();
          await next.run([{ op: 'write', bytes: frame(Buffer.from('after')) }, { op: 'end' }]);
          const o = await next.finished();
          expect(o.status).toBe(GRPC_STATUS.OK);
          expect(unframe(o.data).messages.map(String)).toEqual(['after']);
        },
      ),
      runs(60),
    );
  });

  it('many concurrent streams on one connection, each with its own cuts, faults, ends and resets, do not disturb each other', async () => {
    const plan = fc.record({
      msgs: messages,
      f: fc.option(fault, { nil: undefined }),
      at: cuts,
      fl: flushes,
      end: fc.constantFrom('end', 'end', 'reset', 'none') as fc.Arbitrary<'end' | 'reset' | 'none'>,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(plan, { minLength: 2, maxLength: 40 }), async (plans) => {
        const calls = plans.map(() => echoCall());
        await Promise.all(
          plans.map(async (p, i) => {
            const bytes = Buffer.concat([...p.msgs.map((m) => frame(m)), p.f ? faultBytes(p.f) : Buffer.alloc(0)]);
            const tail: Step[] = p.end === 'end' ? [{ op: 'end' }] : p.end === 'reset' ? [{ op: 'reset', code: NGHTTP2_CANCEL }] : [];
            await calls[i]!.run([...writes(bytes, p.at, p.fl), ...tail]);
          }),
        );
        // The health service answers on the same connection meanwhile.
        expect(await healthCheck(echoSession, 'fuzz.Echo')).toEqual({ status: GRPC_STATUS.OK, serving: 1 });
        await Promise.all(
          plans.map(async (p, i) => {
            const call = calls[i]!;
            const bytes = Buffer.concat([...p.msgs.map((m) => frame(m)), p.f ? faultBytes(p.f) : Buffer.alloc(0)]);
            let want = expectedOf(bytes, p.end === 'end');
            if (p.end === 'reset') {
              // Whatever came back before the reset is its own messages, in order.
              const back = unframe(call.outcome.data).messages.map((m) => m.toString('hex'));
              return void expect(want.messages.slice(0, back.length).map((m) => m.toString('hex'))).toEqual(back);
            }
            if (want.status === undefined) {
              // Still open (no fault yet, not ended): its own messages come back; then it is ended.
              const n = want.messages.length;
              await call.until((x) => unframe(x.data).messages.length >= n, 'echo');
              await call.run([{ op: 'end' }]);
              want = expectedOf(bytes, true);
            }
            const o = await call.finished();
            expect(o.status).toBe(want.status);
            const back = unframe(o.data).messages.map((m) => m.toString('hex'));
            expect(back).toEqual(want.messages.map((m) => m.toString('hex')));
          }),
        );
        await echoSettled();
        // Streams this side reset (see RawCall.released).
        for (const c of calls) if (!c.stream.destroyed) c.stream.destroy();
      }),
      runs(40),
    );
  });

  it('a stream without the token, or to an unknown method, gets a trailers-only answer whatever it sends, and is released', async () => {
    const who = fc.constantFrom(
      { path: ECHO_PATH, headers: {}, status: GRPC_STATUS.UNAUTHENTICATED },
      { path: ECHO_PATH, headers: { 'x-echo-token': 'echo-tokem' }, status: GRPC_STATUS.UNAUTHENTICATED },
      { path: '/fuzz.Echo/Other', headers: { 'x-echo-token': ECHO_TOKEN }, status: GRPC_STATUS.UNIMPLEMENTED },
      { path: '/', headers: {}, status: GRPC_STATUS.UNIMPLEMENTED },
    );
    await fc.assert(
      fc.asyncProperty(who, messages, fc.option(fault, { nil: undefined }), cuts, fc.boolean(), async (w, msgs, f, at, ends) => {
        const call = new RawCall(echoSession, w.path, w.headers);
        const bytes = Buffer.concat([...msgs.map((m) => frame(m)), f ? faultBytes(f) : Buffer.alloc(0)]);
        await call.run([...writes(bytes, at, [true]), ...(ends ? [{ op: 'end' } as const] : [])]);
        const o = await call.until((x) => x.closed, 'close');
        expect(o.status).toBe(w.status);
        expect(o.data.length).toBe(0);
        await echoSettled();
      }),
      runs(100),
    );
  });
});

// ---- the exchange, against the real gateway ---------------------------------------------------

const TOKEN = 'fuzz-processor-token-0123456789';
const KEY = 'gw-key-fuzz-grpc-0001';
const MAX_REQUEST_BYTES = 64 * 1024;
const PROCESS_PATH = `/${EXT_PROC_SERVICE}/Process`;
const fixture = (name: string): Buffer => readFileSync(new URL(`../providers/${name}`, import.meta.url));
const CHAT_RESPONSE = fixture('openai/fixtures/chat-response.json');
const STREAM_WITH_USAGE = fixture('openai/fixtures/chat-stream-usage.sse');

const processMethod = (extProcPackageDefinition()[`${EXT_PROC_SERVICE}`] as protoLoader.ServiceDefinition).Process!;

let gateway: Gateway;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = {
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    GATEWAY_KEYS: `fuzz:${KEY}`,
    OPENAI_API_KEY: 'test-provider-key',
    ANTHROPIC_API_KEY: 'test-anthropic-key',
    PROCESSOR_TOKEN: TOKEN,
    MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
    CACHE_TTL_SECONDS: '0',
    LOG_LEVEL: 'silent',
  };
  gateway = await startGateway(readEnv(env), env, pino({ level: 'silent' }));
  session = http2.connect(`http://127.0.0.1:${gateway.grpcPort}`);
  session.on('error', () => undefined);
});

afterAll(async () => {
  session?.close();
  await gateway?.close(1000);
});

const processCall = () => new RawCall(session, PROCESS_PATH, { [PROCESSOR_TOKEN_HEADER]: TOKEN });
const framed = (r: PeerRequest) => frame(encodeRequest(r));

const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello!' }], ...extra });
const CLASSIC = { requestBodyMode: 'BUFFERED', responseBodyMode: 'STREAMED', sendBodyWithoutWaitingForHeaderResponse: false } as const;

let rid = 0;
const requestHeaders = fc
  .record({
    protocol: fc.constantFrom(GATEWAY_PROTOCOL, CLASSIC, undefined),
    path: fc.constantFrom('/v1/chat/completions', '/v1/chat/completions', '/v1/messages', '/v1/models'),
    key: fc.constantFrom(KEY, KEY, 'gw-key-unknown-0000'),
    stream: fc.boolean(),
    endOfStream: fc.boolean(),
  })
  .map(({ protocol, path, key, stream, endOfStream }): PeerRequest => {
    const body = chatBody({ stream });
    return {
      kind: 'request_headers',
      ...(protocol ? { protocol } : {}),
      endOfStream,
      headers: {
        ':method': path === '/v1/models' ? 'GET' : 'POST',
        ':path': path,
        ':authority': 'gateway.local',
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        ...(path === '/v1/messages' ? { 'x-api-key': key, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${key}` }),
        'x-request-id': `fuzz-${++rid}`,
      },
    };
  });

const requestBody = fc
  .record({
    body: fc.oneof(
      fc.constantFrom(chatBody(), chatBody({ stream: true }), chatBody({ model: 'claude-haiku-4-5' }), '', '{"model":', 'null', '[]'),
      fc.tuple(fc.constantFrom(chatBody(), chatBody({ stream: true })), fc.nat()).map(([b, n]) => b.slice(0, n % b.length)),
      fc.constant('x'.repeat(40 * 1024)),
    ),
    endOfStream: fc.boolean(),
  })
  .map(({ body, endOfStream }): PeerRequest => ({ kind: 'request_body', body, endOfStream }));

const responseHeaders = fc.record({ status: fc.constantFrom('200', '200', '429', '500', '401', 'x'), sse: fc.boolean(), endOfStream: fc.boolean() }).map(
  ({ status, sse, endOfStream }): PeerRequest => ({
    kind: 'response_headers',
    endOfStream,
    headers: { ':status': status, 'content-type': sse ? 'text/event-stream' : 'application/json' },
  }),
);

const responseBody = fc
  .record({
    body: fc.oneof(
      fc.constantFrom(CHAT_RESPONSE, STREAM_WITH_USAGE, Buffer.from('{"error":{"message":"no"}}'), Buffer.alloc(0), Buffer.from('data: {\n\n')),
      fc
        .tuple(fc.constantFrom(CHAT_RESPONSE, STREAM_WITH_USAGE), fc.nat(), fc.nat())
        .map(([b, i, j]) => b.subarray(Math.min(i, j) % b.length, Math.max(i, j) % b.length)),
    ),
    endOfStream: fc.boolean(),
  })
  .map(({ body, endOfStream }): PeerRequest => ({ kind: 'response_body', body, endOfStream }));

/** One thing a peer does on a Process stream. */
type Action = { t: 'msg'; req: PeerRequest } | { t: 'undecodable'; bytes: Buffer } | { t: 'compressed'; req: PeerRequest } | { t: 'wait'; ms: number };

const extProcMessage = fc.oneof(
  { weight: 4, arbitrary: requestHeaders },
  { weight: 4, arbitrary: requestBody },
  { weight: 1, arbitrary: fc.constant<PeerRequest>({ kind: 'request_trailers', headers: { 'x-t': '1' } }) },
  { weight: 3, arbitrary: responseHeaders },
  { weight: 3, arbitrary: responseBody },
  { weight: 1, arbitrary: fc.constant<PeerRequest>({ kind: 'response_trailers', headers: { 'grpc-status': '0' } }) },
);

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 16, arbitrary: extProcMessage.map((req) => ({ t: 'msg' as const, req })) },
  {
    weight: 1,
    // A ProcessingRequest that is no message: truncated nested length, a field of wire type 7, no phase at all.
    arbitrary: fc
      .constantFrom(Buffer.from([0x12, 0x05, 0x0a]), Buffer.from([0x0f]), Buffer.alloc(0), Buffer.from([0x50, 0x01]))
      .map((bytes) => ({ t: 'undecodable' as const, bytes })),
  },
  { weight: 1, arbitrary: extProcMessage.map((req) => ({ t: 'compressed' as const, req })) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 15 }).map((ms) => ({ t: 'wait' as const, ms })) },
);

/** How the peer leaves the stream. */
type Ending = { t: 'end' } | { t: 'reset'; code: number } | { t: 'oversize'; declared: number } | { t: 'truncated'; keep: number };
const ending: fc.Arbitrary<Ending> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ t: 'end' as const }) },
  { weight: 2, arbitrary: fc.constantFrom(...RESET_CODES).map((code) => ({ t: 'reset' as const, code })) },
  { weight: 1, arbitrary: fc.integer({ min: 64 * 1024 * 1024 + 1, max: 0xffff_ffff }).map((declared) => ({ t: 'oversize' as const, declared })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((keep) => ({ t: 'truncated' as const, keep })) },
);

function stepsOf(actions: readonly Action[], end: Ending): Step[] {
  const steps: Step[] = [];
  for (const a of actions) {
    if (a.t === 'msg') steps.push({ op: 'write', bytes: framed(a.req) });
    else if (a.t === 'undecodable') steps.push({ op: 'write', bytes: frame(a.bytes) });
    else if (a.t === 'compressed') steps.push({ op: 'write', bytes: frame(encodeRequest(a.req), 1) });
    else steps.push({ op: 'wait', ms: a.ms });
  }
  if (end.t === 'end') steps.push({ op: 'end' });
  else if (end.t === 'reset') steps.push({ op: 'flush' }, { op: 'reset', code: end.code });
  else if (end.t === 'oversize') steps.push({ op: 'write', bytes: frame(Buffer.alloc(0), 0, end.declared) });
  else steps.push({ op: 'write', bytes: framed({ kind: 'request_trailers' }).subarray(0, end.keep % 7) }, { op: 'end' });
  return steps;
}

/** The gRPC status the stream must end with: its first framing fault's, else OK; undefined when reset. */
function statusOf(actions: readonly Action[], end: Ending): string | undefined {
  // A peer that resets may be gone before the trailers arrive.
  if (end.t === 'reset') return undefined;
  for (const a of actions) if (a.t === 'undecodable' || a.t === 'compressed') return GRPC_STATUS.INTERNAL;
  if (end.t === 'oversize') return GRPC_STATUS.RESOURCE_EXHAUSTED;
  if (end.t === 'truncated' && end.keep % 7 > 0) return GRPC_STATUS.INTERNAL;
  return GRPC_STATUS.OK;
}

/** Every answer is a ProcessingResponse both readers accept; at most one immediate response, and it is the last. */
function checkAnswers(messages: readonly Buffer[]): PeerResponse[] {
  const answers = messages.map((m) => {
    const ref = processMethod.responseDeserialize(m) as { response?: string };
    expect(ref.response, 'a ProcessingResponse with one of its responses set').toBeTruthy();
    return decodeResponse(m);
  });
  const immediate = answers.findIndex((a) => a.kind === 'immediate');
  if (immediate >= 0) {
    expect(immediate, `nothing after an immediate response: ${answers.map((a) => a.kind).join(', ')}`).toBe(answers.length - 1);
    const status = answers[immediate]!.immediate!.status;
    expect(status).toBeGreaterThanOrEqual(200);
    expect(status).toBeLessThan(600);
  }
  return answers;
}

async function gatewaySettled(): Promise<void> {
  await eventually(() => gateway.inFlight() === 0, 'every Process stream released');
}

/** A well-formed call from start to end: both answers on the request side, then a whole answer. */
async function goodExchange(): Promise<void> {
  const call = processCall();
  const body = chatBody();
  await call.run([
    {
      op: 'write',
      bytes: Buffer.concat([
        framed({
          kind: 'request_headers',
          protocol: GATEWAY_PROTOCOL,
          headers: {
            ':method': 'POST',
            ':path': '/v1/chat/completions',
            'content-type': 'application/json',
            'content-length': String(body.length),
            authorization: `Bearer ${KEY}`,
            'x-request-id': `good-${++rid}`,
          },
        }),
        framed({ kind: 'request_body', body, endOfStream: true }),
      ]),
    },
  ]);
  await call.until((o) => unframe(o.data).messages.length >= 2, 'answer the request');
  await call.run([
    {
      op: 'write',
      bytes: Buffer.concat([
        framed({ kind: 'response_headers', headers: { ':status': '200', 'content-type': 'application/json' } }),
        framed({ kind: 'response_body', body: CHAT_RESPONSE, endOfStream: true }),
      ]),
    },
  ]);
  await call.until((o) => unframe(o.data).messages.length >= 4, 'answer the response');
  await call.run([{ op: 'end' }]);
  const o = await call.finished();
  expect(o.status).toBe(GRPC_STATUS.OK);
  const answers = checkAnswers(unframe(o.data).messages);
  expect(answers.map((a) => a.kind)).toEqual(['request_headers', 'request_body', 'response_headers', 'response_body']);
  expect(answers[0]!.headers.set['x-gateway-cluster']).toBe('openai');
  expect(answers[2]!.headers.set['x-gateway-cost-usd']).toMatch(/^\d/);
  expect(answers[3]!.body?.streamed?.equals(CHAT_RESPONSE)).toBe(true);
  expect(await healthCheck(session, EXT_PROC_SERVICE)).toEqual({ status: GRPC_STATUS.OK, serving: 1 });
}

describe('the ext_proc exchange (real gateway)', () => {
  it('serves a well-formed call (the reference for what follows)', async () => {
    await goodExchange();
  });

  it('messages in any order, framing faults, resets and half-closes: valid answers or a gRPC error, never a hang', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { maxLength: 8 }), ending, async (actions, end) => {
        const call = processCall();
        await call.run(stepsOf(actions, end));
        const want = statusOf(actions, end);
        let o: Outcome;
        if (want === undefined) {
          await call.released(gateway.inFlight);
          o = call.outcome;
        } else {
          o = await call.finished();
          expect(o.status).toBe(want);
        }
        const { messages, rest } = unframe(o.data);
        // Only a reset may cut an answer short.
        if (end.t !== 'reset') expect(rest.length).toBe(0);
        checkAnswers(messages);
        await gatewaySettled();
      }),
      runs(120),
    );
    await goodExchange();
  });

  it('a stream that does not begin with the request headers is refused at once, before the peer ends it', async () => {
    const first = extProcMessage.filter((r) => r.kind !== 'request_headers');
    await fc.assert(
      fc.asyncProperty(first, fc.array(extProcMessage, { maxLength: 3 }), async (head, rest) => {
        const call = processCall();
        await call.run([{ op: 'write', bytes: Buffer.concat([head, ...rest].map(framed)) }]);
        const o = await call.until((x) => unframe(x.data).messages.length > 0 || x.ended, 'answer');
        const answers = checkAnswers(unframe(o.data).messages);
        expect(answers.map((a) => a.kind)).toEqual(['immediate']);
        expect(answers[0]!.immediate!.status).toBe(500);
        await call.run([{ op: 'end' }]);
        expect((await call.finished()).status).toBe(GRPC_STATUS.OK);
        await gatewaySettled();
      }),
      runs(100),
    );
    await goodExchange();
  });
});

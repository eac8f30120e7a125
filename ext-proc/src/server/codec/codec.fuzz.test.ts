/*
 * Properties of the processor's own ext_proc protobuf codec, the first code that reads what
 * arrives on a Process stream:
 * - any bytes, and any mutation of a valid ProcessingRequest, either decode or fail with the
 *   codec's own ProtoDecodeError (never a TypeError, RangeError or stack overflow), quickly;
 * - a ProcessingRequest written by the reference codec (@grpc/proto-loader over Envoy's protos)
 *   decodes to what was written; the newer protocol_config the bundled protos predate too;
 * - a ProcessingResponse the processor writes reads back, with the reference codec and with the
 *   component tests' Envoy peer, as what it was given.
 */
import type * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extProcPackageDefinition } from '../../../../protos/ext-proc.js';
import { decodeResponse, type PeerResponse } from '../../../../test/helpers/ext-proc-peer.js';
import { runs } from '../../../../test/helpers/fuzz.js';
import {
  type BodySendMode,
  decodeRequest,
  encodeResponse,
  type ExtProcRequest,
  type ExtProcResponse,
  type HeaderPair,
  type ProcessingMode,
  type StructObject,
  type StructValue,
} from './messages.js';
import { ProtoDecodeError, ProtoReader, ProtoWriter } from './protobuf.js';

const method = (extProcPackageDefinition()['envoy.service.ext_proc.v3.ExternalProcessor'] as protoLoader.ServiceDefinition).Process!;
const referenceEncodeRequest = (m: object): Buffer => method.requestSerialize(m);
const referenceDecodeResponse = (b: Buffer) => method.responseDeserialize(b) as Record<string, any>;

/**
 * A deep copy with ordinary prototypes (the decoder builds null-prototype maps), bytes as hex
 * (a deep comparison of a 16 kB Buffer goes byte by byte).
 */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return `bytes:${v.toString('hex')}`;
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v))
    Object.defineProperty(out, k, { value: plain((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
  return out;
}

// ---- generated messages -----------------------------------------------------------------------

/** Well-formed text (what survives UTF-8), short. */
const text = (maxLength = 12) => fc.string({ unit: 'grapheme', maxLength });
/** Keys a protobufjs object can carry as own properties (`__proto__` would set the prototype). */
const key = text(10).filter((k) => k !== '__proto__');

const structValue: fc.Arbitrary<StructValue> = fc.letrec<{ value: StructValue; object: StructObject }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    text(),
    fc.array(tie('value'), { maxLength: 3 }),
    tie('object'),
  ),
  object: fc.dictionary(key, tie('value'), { maxKeys: 3 }),
})).value;
const structObject = fc.dictionary(key, structValue, { maxKeys: 4 });

/** A StructValue in the reference codec's object form. */
function refValue(v: StructValue): object {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(refValue) } };
  return { structValue: refStruct(v) };
}
function refStruct(o: StructObject): object {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, refValue(v)])) };
}

/** A header as Envoy sends it: `raw_value` (newer releases) or `value` (older ones). */
const header = fc.record({ key: text(10).filter((k) => k.length > 0), value: text(16), raw: fc.boolean() });

const KINDS = ['request_headers', 'response_headers', 'request_body', 'response_body', 'request_trailers', 'response_trailers'] as const;

interface Generated {
  kind: (typeof KINDS)[number];
  headers: Array<{ key: string; value: string; raw: boolean }>;
  body: Buffer;
  endOfStream: boolean;
  metadata: Record<string, StructObject> | undefined;
  attributes: Record<string, StructObject> | undefined;
  /** protocol_config's two body modes (unknown enum numbers included) and its flag. */
  protocol: [number, number, boolean] | undefined;
}

const generated: fc.Arbitrary<Generated> = fc.record({
  kind: fc.constantFrom(...KINDS),
  headers: fc.array(header, { maxLength: 6 }),
  body: fc
    .oneof(
      fc.uint8Array({ maxLength: 64 }),
      // Lengths either side of where a varint length grows a byte.
      fc.constantFrom(127, 128, 16_383, 16_384).map((n) => new Uint8Array(n).fill(0x61)),
    )
    .map((b) => Buffer.from(b)),
  endOfStream: fc.boolean(),
  metadata: fc.option(fc.dictionary(key, structObject, { maxKeys: 2 }), { nil: undefined }),
  attributes: fc.option(fc.dictionary(key, structObject, { maxKeys: 2 }), { nil: undefined }),
  protocol: fc.option(fc.tuple(fc.nat(6), fc.nat(6), fc.boolean()), { nil: undefined }),
});

/** The message's bytes: the reference codec's, with protocol_config (field 11) appended by hand. */
function encodeGenerated(g: Generated): Buffer {
  const headerMap = { headers: g.headers.map((h) => (h.raw ? { key: h.key, raw_value: Buffer.from(h.value, 'utf8') } : { key: h.key, value: h.value })) };
  const phase =
    g.kind === 'request_headers' || g.kind === 'response_headers'
      ? { headers: headerMap, end_of_stream: g.endOfStream }
      : g.kind === 'request_body' || g.kind === 'response_body'
        ? { body: g.body, end_of_stream: g.endOfStream }
        : { trailers: headerMap };
  const msg: Record<string, unknown> = { [g.kind]: phase };
  if (g.metadata) msg.metadata_context = { filter_metadata: Object.fromEntries(Object.entries(g.metadata).map(([k, s]) => [k, refStruct(s)])) };
  if (g.attributes) msg.attributes = Object.fromEntries(Object.entries(g.attributes).map(([k, s]) => [k, refStruct(s)]));
  const bytes = referenceEncodeRequest(msg);
  if (!g.protocol) return bytes;
  const w = new ProtoWriter().begin(11).uint(1, g.protocol[0]).uint(2, g.protocol[1]);
  if (g.protocol[2]) w.bool(3, true);
  return Buffer.concat([bytes, w.end().finish()]);
}

const MODES: readonly BodySendMode[] = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED'];

/** What decodeRequest must make of it. */
function expected(g: Generated): unknown {
  const out: Record<string, unknown> = { kind: g.kind };
  if (g.kind === 'request_headers' || g.kind === 'response_headers') {
    const headers = Object.create(null) as Record<string, string>;
    for (const h of g.headers) headers[h.key] = Object.hasOwn(headers, h.key) ? `${headers[h.key]},${h.value}` : h.value;
    Object.assign(out, { headers, endOfStream: g.endOfStream });
  } else if (g.kind === 'request_body' || g.kind === 'response_body') {
    Object.assign(out, { body: g.body, endOfStream: g.endOfStream });
  }
  // metadata_context is written even when empty; an empty attributes map is not written at all.
  if (g.metadata) out.metadata = g.metadata;
  if (g.attributes && Object.keys(g.attributes).length > 0) out.attributes = g.attributes;
  if (g.protocol) {
    out.protocol = {
      requestBodyMode: MODES[g.protocol[0]] ?? 'NONE',
      responseBodyMode: MODES[g.protocol[1]] ?? 'NONE',
      sendBodyWithoutWaitingForHeaderResponse: g.protocol[2],
    };
  }
  return out;
}

// ---- robustness -------------------------------------------------------------------------------

/** Decodes, allowing only the codec's own error; a result must be a well-formed request. */
function decodeOrRefuse(buf: Buffer): ExtProcRequest | undefined {
  const attempt = (): ExtProcRequest | undefined => {
    try {
      return decodeRequest(buf);
    } catch (e) {
      if (!(e instanceof ProtoDecodeError)) throw e;
      return undefined;
    }
  };
  let started = performance.now();
  let r = attempt();
  // Linear in the input: no input of these sizes takes anywhere near this long. (Once more if it
  // did: a garbage collection or a busy machine can stall any one call.)
  if (performance.now() - started >= 250) {
    started = performance.now();
    r = attempt();
    expect(performance.now() - started).toBeLessThan(250);
  }
  if (!r) return undefined;
  expect(KINDS).toContain(r.kind);
  if ('body' in r && r.body.length > 0) {
    // Bodies are views into the message, never past its end.
    expect(r.body.buffer).toBe(buf.buffer);
    expect(r.body.byteOffset + r.body.length).toBeLessThanOrEqual(buf.byteOffset + buf.length);
  }
  if ('headers' in r) for (const v of Object.values(r.headers)) expect(typeof v).toBe('string');
  if ('endOfStream' in r) expect(typeof r.endOfStream).toBe('boolean');
  return r;
}

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'delete'; at: number; n: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'truncate'; at: number }
  | { op: 'repeat'; at: number; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08, 0x0f, 0x0b, 0x0c) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 10 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
);

function mutate(buf: Buffer, m: Mutation): Buffer {
  const at = buf.length === 0 ? 0 : m.at % buf.length;
  switch (m.op) {
    case 'flip': {
      const out = Buffer.from(buf);
      if (out.length > 0) out[at] = out[at]! ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      const out = Buffer.from(buf);
      if (out.length > 0) out[at] = m.byte;
      return out;
    }
    case 'delete':
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.n)]);
    case 'insert':
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
    case 'truncate':
      return buf.subarray(0, at);
    case 'repeat':
      // A slice of the message again, right after itself: repeated fields, nested lengths off.
      return Buffer.concat([buf.subarray(0, at + m.n), buf.subarray(at, at + m.n), buf.subarray(at + m.n)]);
  }
}

/** A varint's bytes. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** A length-delimited field's header: its tag byte and the length of what follows. */
const lenField = (tag: number, len: number): number[] => [tag, ...varint(len)];
const K = [0x0a, 0x01, 0x6b]; // key(1) "k"

/**
 * Metadata nested `depth` deep (Struct values or lists), the way only a hostile peer writes it.
 * Built from the innermost value out, one prefix per level, in one pass.
 */
function deepStructMessage(depth: number, list: boolean): Buffer {
  const leaf = [0x1a, 4, ...Buffer.from('leaf')]; // Value{string_value(3)}
  const prefixes: number[][] = [];
  let len = leaf.length;
  for (let i = 0; i < depth; i++) {
    let level: number[];
    if (list) {
      // Value{list_value(6): ListValue{values(1): inner}}
      const values = lenField(0x0a, len);
      level = [...lenField(0x32, values.length + len), ...values];
    } else {
      // Value{struct_value(5): Struct{fields(1): {key(1) "k", value(2): inner}}}
      const entry = [...K, ...lenField(0x12, len)];
      const fields = [...lenField(0x0a, entry.length + len), ...entry];
      level = [...lenField(0x2a, fields.length + len), ...fields];
    }
    prefixes.push(level);
    len += level.length;
  }
  // ProcessingRequest{request_headers(2){}, metadata_context(8): Metadata{filter_metadata(1): {key "ns", value: Struct{fields(1): {key "k", value: …}}}}}
  const entry = [...K, ...lenField(0x12, len)];
  const struct = [...lenField(0x0a, entry.length + len), ...entry];
  const ns = [0x0a, 0x02, 0x6e, 0x73, ...lenField(0x12, struct.length + len)];
  const filterMetadata = lenField(0x0a, ns.length + struct.length + len);
  const total = filterMetadata.length + ns.length + struct.length + len;
  return Buffer.from([0x12, 0x00, ...lenField(0x42, total), ...filterMetadata, ...ns, ...struct, ...prefixes.reverse().flat(), ...leaf]);
}

const DEEP = [33, 100, 1000, 10_000].flatMap((d) => [deepStructMessage(d, false), deepStructMessage(d, true)]);

describe('decodeRequest on hostile bytes', () => {
  it('arbitrary bytes decode or fail with ProtoDecodeError, quickly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        decodeOrRefuse(Buffer.from(bytes));
      }),
      runs(3000),
    );
  });

  it('bytes shaped like a message (its tags, huge lengths, varints of 10 bytes) decode or fail with ProtoDecodeError', () => {
    const piece = fc.oneof(
      fc.constantFrom(0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a, 0x42, 0x4a, 0x5a, 0x0a, 0x08, 0x10, 0x18, 0x09, 0x0d, 0x0b, 0x0c, 0x0f).map((b) => [b]),
      // Lengths: small, at the varint boundaries, past the message, past 2^31 and 2^32.
      fc.constantFrom(0, 1, 5, 127, 128, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1).map((n) => {
        const out: number[] = [];
        let v = n;
        while (v >= 0x80) {
          out.push((v % 0x80) | 0x80);
          v = Math.floor(v / 0x80);
        }
        out.push(v);
        return out;
      }),
      fc.constant([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      fc.uint8Array({ maxLength: 4 }).map((b) => [...b]),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        decodeOrRefuse(Buffer.from(pieces.flat()));
      }),
      runs(3000),
    );
  });

  it('mutated valid requests decode or fail with ProtoDecodeError, quickly', () => {
    fc.assert(
      fc.property(generated, fc.array(mutation, { minLength: 1, maxLength: 4 }), (g, ms) => {
        let buf = encodeGenerated(g);
        for (const m of ms) buf = mutate(buf, m);
        decodeOrRefuse(buf);
      }),
      runs(1000),
    );
  });

  it('metadata nested thousands deep (structs or lists) is refused with ProtoDecodeError, not a stack overflow', () => {
    for (const buf of DEEP) expect(() => decodeRequest(buf)).toThrow(ProtoDecodeError);
    // Within the limit it is read, to the leaf.
    let v: unknown = decodeRequest(deepStructMessage(10, false)).metadata?.ns;
    for (let i = 0; i < 11; i++) v = (v as Record<string, unknown>).k;
    expect(v).toBe('leaf');
    let l: unknown = decodeRequest(deepStructMessage(10, true)).metadata?.ns?.k;
    for (let i = 0; i < 10; i++) l = (l as unknown[])[0];
    expect(l).toBe('leaf');
  });
});

// ---- round trips ------------------------------------------------------------------------------

describe('round trips', () => {
  it('a ProcessingRequest the reference codec writes decodes to what was written', () => {
    fc.assert(
      fc.property(generated, (g) => {
        expect(plain(decodeRequest(encodeGenerated(g)))).toEqual(plain(expected(g)));
      }),
      runs(300),
    );
  });

  it('fields repeated or in any order: the last phase wins, unknown fields are skipped', () => {
    const unknown = fc.oneof(
      fc.record({ field: fc.integer({ min: 12, max: 5000 }), v: fc.nat() }).map(({ field, v }) => new ProtoWriter().uint(field, v).finish()),
      fc
        .record({ field: fc.integer({ min: 12, max: 5000 }), b: fc.uint8Array({ maxLength: 20 }) })
        .map(({ field, b }) => new ProtoWriter().bytes(field, b).finish()),
      fc.constant(Buffer.from([0x0d, 1, 2, 3, 4])), // field 1, fixed32
      fc.constant(Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8])), // field 1, fixed64
    );
    fc.assert(
      fc.property(generated, generated, fc.array(unknown, { maxLength: 3 }), (first, last, noise) => {
        // Only the phases: metadata, attributes and protocol_config merge across repeats.
        const a = { ...first, metadata: undefined, attributes: undefined, protocol: undefined };
        const b = { ...last, metadata: undefined, attributes: undefined, protocol: undefined };
        const buf = Buffer.concat([...noise.map((n) => Buffer.from(n)), encodeGenerated(a), encodeGenerated(b)]);
        expect(plain(decodeRequest(buf))).toEqual(plain(expected(b)));
      }),
      runs(200),
    );
  });

  // Names the Envoy peer's reader (a plain object) can hold: not `__proto__`.
  const pair: fc.Arbitrary<HeaderPair> = fc.tuple(
    key.filter((k) => k.length > 0),
    text(16),
  );
  const mutationArb = fc.record({
    set: fc.array(pair, { maxLength: 4 }),
    remove: fc.array(
      text(10).filter((k) => k.length > 0),
      { maxLength: 3 },
    ),
  });
  const bodyBytes = fc
    .oneof(
      fc.uint8Array({ maxLength: 48 }),
      fc.constantFrom(127, 128, 16_384).map((n) => new Uint8Array(n).fill(0x62)),
    )
    .map((b) => Buffer.from(b));
  const headerMode = fc.constantFrom('DEFAULT', 'SEND', 'SKIP') as fc.Arbitrary<'DEFAULT' | 'SEND' | 'SKIP'>;
  const mode: fc.Arbitrary<ProcessingMode> = fc.record(
    {
      requestHeaderMode: headerMode,
      responseHeaderMode: headerMode,
      requestBodyMode: fc.constantFrom(...MODES),
      responseBodyMode: fc.constantFrom(...MODES),
      requestTrailerMode: headerMode,
      responseTrailerMode: headerMode,
    },
    { requiredKeys: [] },
  );
  const common = fc.record(
    {
      headers: mutationArb,
      body: fc.oneof(
        bodyBytes.map((replace) => ({ replace })),
        fc.constant({ clear: true as const }),
        fc.record({ streamed: bodyBytes, endOfStream: fc.boolean() }),
      ),
      clearRouteCache: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  const response: fc.Arbitrary<ExtProcResponse> = fc
    .tuple(
      fc.oneof(
        fc.record({
          kind: fc.constantFrom('request_headers', 'response_headers', 'request_body', 'response_body') as fc.Arbitrary<'request_headers'>,
          response: common,
        }),
        fc.record({
          kind: fc.constantFrom('request_trailers', 'response_trailers') as fc.Arbitrary<'request_trailers'>,
          headers: fc.option(mutationArb, { nil: undefined }),
        }),
        fc.record({
          kind: fc.constant('immediate' as const),
          status: fc.integer({ min: 100, max: 599 }),
          headers: fc.array(pair, { maxLength: 3 }),
          body: bodyBytes,
          details: text(20),
        }),
      ),
      fc.option(fc.dictionary(key, structObject, { minKeys: 1, maxKeys: 2 }), { nil: undefined }),
      fc.option(mode, { nil: undefined }),
    )
    .map(([r, metadata, modeOverride]) => {
      const out = { ...r } as ExtProcResponse;
      if (r.kind === 'request_trailers' && r.headers === undefined) delete (out as { headers?: unknown }).headers;
      if (metadata) out.metadata = metadata;
      if (modeOverride) out.modeOverride = modeOverride;
      return out;
    });

  /** The header mutation as a map and a list, the way both readers report it; later sets win. */
  function mutationSeen(m: { set?: readonly HeaderPair[]; remove?: readonly string[] } | undefined) {
    return { set: Object.fromEntries(m?.set ?? []), remove: [...(m?.remove ?? [])] };
  }

  it("a ProcessingResponse the processor writes reads back as it was, with the Envoy peer's reader", () => {
    fc.assert(
      fc.property(response, fc.boolean(), (res, framed) => {
        const bytes = encodeResponse(res, framed);
        const got = plain(decodeResponse(framed ? bytes.subarray(5) : bytes)) as PeerResponse;
        expect(got.kind).toBe(res.kind);
        if (res.kind === 'immediate') {
          expect(got.immediate).toEqual(plain({ status: res.status, body: res.body, details: res.details }));
          expect(got.headers).toEqual(mutationSeen({ set: res.headers }));
        } else if (!('response' in res)) {
          expect(got.headers).toEqual(mutationSeen(res.headers));
        } else {
          const c = res.response;
          const written = c.headers && ((c.headers.set?.length ?? 0) > 0 || (c.headers.remove?.length ?? 0) > 0) ? c.headers : undefined;
          expect(got.headers).toEqual(mutationSeen(written));
          expect(got.clearRouteCache).toBe(c.clearRouteCache === true);
          const b = c.body;
          if (!b) expect(got.body).toBeUndefined();
          else if ('clear' in b || ('replace' in b && b.replace.length === 0)) expect(got.body).toEqual({ clear: true });
          else if ('replace' in b) expect(got.body).toEqual(plain({ replace: b.replace }));
          else expect(got.body).toEqual(plain(b.endOfStream ? { streamed: b.streamed, endOfStream: true } : { streamed: b.streamed }));
        }
        if (res.metadata) expect(got.metadata).toEqual(res.metadata);
        else expect(got.metadata).toBeUndefined();
        if (res.modeOverride) {
          const n = { DEFAULT: 0, SEND: 1, SKIP: 2, ...Object.fromEntries(MODES.map((m, i) => [m, i])) } as Record<string, number>;
          const m = res.modeOverride;
          const want: Record<number, number> = {};
          const fields = [m.requestHeaderMode, m.responseHeaderMode, m.requestBodyMode, m.responseBodyMode, m.requestTrailerMode, m.responseTrailerMode];
          // A mode given as DEFAULT/NONE is written as an explicit 0, which reads as unset would.
          fields.forEach((v, i) => {
            if (v) want[i + 1] = n[v]!;
          });
          expect(got.modeOverride).toEqual(want);
        }
      }),
      runs(400),
    );
  });

  it('the reference codec reads a ProcessingResponse the processor writes (all but the newer streamed body)', () => {
    const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    fc.assert(
      fc.property(
        response.filter((r) => !('response' in r && r.response.body !== undefined && 'streamed' in r.response.body)),
        (res) => {
          const out = referenceDecodeResponse(encodeResponse(res));
          const kind = res.kind === 'immediate' ? 'immediate_response' : res.kind;
          expect(out.response).toBe(kind);
          if (res.kind === 'immediate') {
            // An unknown status number reads back as its number (enums: String).
            expect(out.immediate_response.body?.toString('latin1') ?? '').toBe(res.body.toString('latin1'));
            expect(out.immediate_response.details ?? '').toBe(res.details);
          }
          if (res.modeOverride) {
            for (const [k, v] of Object.entries(res.modeOverride)) {
              // The bundled protos predate FULL_DUPLEX_STREAMED: their reader reports its number.
              expect(out.mode_override[snake(k)]).toBe(v === 'FULL_DUPLEX_STREAMED' ? 4 : v);
            }
          }
        },
      ),
      runs(400),
    );
  });
});

describe('ProtoReader and ProtoWriter', () => {
  it('writes the largest field numbers protobuf allows (their tags need all 32 bits)', () => {
    for (const field of [2 ** 28 - 1, 2 ** 28, 2 ** 29 - 1]) {
      const r = new ProtoReader(new ProtoWriter().uint(field, 7).string(field, 'v').finish());
      expect(r.tag()).toEqual([field, 0]);
      expect(r.varint()).toBe(7);
      expect(r.tag()).toEqual([field, 2]);
      expect(r.string()).toBe('v');
    }
  });

  it('nested messages of any size read back through enter/leave and message()', () => {
    const tree = fc.array(
      fc.tuple(fc.integer({ min: 1, max: 2 ** 29 - 1 }), fc.oneof(fc.nat(), fc.constantFrom(0, 127, 128, 2 ** 32 - 1)), fc.integer({ min: 0, max: 20_000 })),
      {
        maxLength: 5,
      },
    );
    fc.assert(
      fc.property(tree, (fields) => {
        const w = new ProtoWriter(16, 5);
        w.begin(1);
        for (const [field, v, pad] of fields) w.begin(field).uint(1, v).bytes(2, Buffer.alloc(pad, 1)).end();
        const buf = w.end().finish().subarray(5);
        const r = new ProtoReader(buf);
        expect(r.tag()).toEqual([1, 2]);
        const end = r.enter();
        expect(end).toBe(buf.length);
        for (const [field, v, pad] of fields) {
          expect(r.tag()).toEqual([field, 2]);
          const m = r.message();
          expect(m.tag()).toEqual([1, 0]);
          expect(m.varint()).toBe(v >>> 0);
          expect(m.tag()).toEqual([2, 2]);
          expect(m.bytes().length).toBe(pad);
          expect(m.more()).toBe(false);
        }
        expect(r.more()).toBe(false);
        r.leave();
        expect(r.more()).toBe(false);
      }),
      runs(200),
    );
  });
});

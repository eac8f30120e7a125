import type * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { extProcPackageDefinition } from '../../../../protos/ext-proc.js';
import { decodeRequest, encodeResponse, type ExtProcResponse } from './messages.js';
import { ProtoDecodeError, ProtoReader } from './protobuf.js';

// The reference: the reflection-based codec of @grpc/proto-loader over Envoy's own protos.
const method = (extProcPackageDefinition()['envoy.service.ext_proc.v3.ExternalProcessor'] as protoLoader.ServiceDefinition).Process!;
const referenceEncodeRequest = (m: object) => method.requestSerialize(m);
const referenceDecodeResponse = (b: Buffer) => method.responseDeserialize(b) as Record<string, any>;

const hv = (key: string, v: string) => ({ key, raw_value: Buffer.from(v) });

describe('decodeRequest', () => {
  it('reads request headers (raw_value and value), joining repeated ones', () => {
    const buf = referenceEncodeRequest({
      request_headers: {
        headers: { headers: [hv(':path', '/v1/chat/completions'), { key: 'x-old', value: 'plain' }, hv('accept', 'a'), hv('accept', 'b')] },
        end_of_stream: true,
      },
    });
    const r = decodeRequest(buf);
    expect(r.kind).toBe('request_headers');
    if (r.kind !== 'request_headers') return;
    expect({ ...r.headers }).toEqual({ ':path': '/v1/chat/completions', 'x-old': 'plain', accept: 'a,b' });
    expect(r.endOfStream).toBe(true);
  });

  it('keeps header names that are Object.prototype members as plain entries', () => {
    const r = decodeRequest(referenceEncodeRequest({ response_headers: { headers: { headers: [hv('constructor', 'x'), hv('__proto__', 'y')] } } }));
    if (r.kind !== 'response_headers') throw new Error(r.kind);
    expect(r.headers.constructor).toBe('x');
    expect(Object.keys(r.headers)).toEqual(['constructor', '__proto__']);
    expect(r.endOfStream).toBe(false);
  });

  it('reads bodies as views, with end_of_stream', () => {
    const body = Buffer.from('{"model":"m"}');
    const r = decodeRequest(referenceEncodeRequest({ request_body: { body, end_of_stream: true } }));
    expect(r).toMatchObject({ kind: 'request_body', endOfStream: true });
    if (r.kind === 'request_body') expect(r.body.equals(body)).toBe(true);
    const empty = decodeRequest(referenceEncodeRequest({ response_body: { end_of_stream: false } }));
    expect(empty).toMatchObject({ kind: 'response_body', endOfStream: false });
    if (empty.kind === 'response_body') expect(empty.body.length).toBe(0);
  });

  it('reads trailers phases', () => {
    expect(decodeRequest(referenceEncodeRequest({ response_trailers: { trailers: { headers: [hv('grpc-status', '0')] } } })).kind).toBe('response_trailers');
    expect(decodeRequest(referenceEncodeRequest({ request_trailers: {} })).kind).toBe('request_trailers');
  });

  it('reads dynamic metadata and attributes as plain objects', () => {
    const buf = referenceEncodeRequest({
      request_headers: { headers: { headers: [] } },
      metadata_context: {
        filter_metadata: {
          llm_gateway: {
            fields: {
              route: { stringValue: 'abc' },
              n: { numberValue: 1.5 },
              ok: { boolValue: true },
              none: { nullValue: 'NULL_VALUE' },
              list: { listValue: { values: [{ stringValue: 'a' }, { numberValue: 2 }] } },
              nested: { structValue: { fields: { k: { stringValue: 'v' } } } },
            },
          },
        },
      },
      attributes: { 'envoy.filters.http.ext_proc': { fields: { 'xds.upstream_host_metadata': { stringValue: 'filter_metadata {}' } } } },
    });
    const r = decodeRequest(buf);
    expect(JSON.parse(JSON.stringify(r.metadata))).toEqual({
      llm_gateway: { route: 'abc', n: 1.5, ok: true, none: null, list: ['a', 2], nested: { k: 'v' } },
    });
    expect(r.attributes?.['envoy.filters.http.ext_proc']?.['xds.upstream_host_metadata']).toBe('filter_metadata {}');
  });

  it('refuses malformed input with ProtoDecodeError only', () => {
    expect(() => decodeRequest(Buffer.alloc(0))).toThrow(ProtoDecodeError);
    expect(() => decodeRequest(Buffer.from([0x12, 0x05, 0x0a]))).toThrow(ProtoDecodeError);
    expect(() => decodeRequest(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(ProtoDecodeError);
    expect(() => decodeRequest(Buffer.from([0x0f]))).toThrow(ProtoDecodeError); // wire type 7
  });

  it('refuses metadata nested deeper than it will follow', () => {
    let value: object = { stringValue: 'leaf' };
    for (let i = 0; i < 40; i++) value = { structValue: { fields: { k: value } } };
    const buf = referenceEncodeRequest({
      request_headers: { headers: { headers: [] } },
      metadata_context: { filter_metadata: { ns: { fields: { k: value } } } },
    });
    expect(() => decodeRequest(buf)).toThrow(ProtoDecodeError);
  });
});

describe('encodeResponse', () => {
  const roundTrip = (res: ExtProcResponse) => referenceDecodeResponse(encodeResponse(res));

  it('writes a request-headers answer with header mutation, route-cache clearing and metadata', () => {
    const out = roundTrip({
      kind: 'request_headers',
      response: {
        headers: {
          set: [
            ['x-gateway-cluster', 'openai'],
            [':path', '/v1/chat/completions'],
          ],
          remove: ['authorization'],
        },
        clearRouteCache: true,
      },
      metadata: { llm_gateway: { tenant: 't', cost_usd: 0.25, stream: false, skipped: undefined as never, nothing: null, list: [1, 'a'] } },
    });
    const c = out.request_headers.response;
    expect(c.clear_route_cache).toBe(true);
    expect(c.header_mutation.set_headers.map((h: any) => [h.header.key, h.header.raw_value.toString(), h.append_action])).toEqual([
      ['x-gateway-cluster', 'openai', 'OVERWRITE_IF_EXISTS_OR_ADD'],
      [':path', '/v1/chat/completions', 'OVERWRITE_IF_EXISTS_OR_ADD'],
    ]);
    expect(c.header_mutation.remove_headers).toEqual(['authorization']);
    const f = out.dynamic_metadata.fields.llm_gateway.structValue.fields;
    expect(Object.keys(f).sort()).toEqual(['cost_usd', 'list', 'nothing', 'stream', 'tenant']);
    expect(f.cost_usd.numberValue).toBe(0.25);
    expect(f.stream.boolValue).toBe(false);
    expect(f.nothing.nullValue).toBe('NULL_VALUE');
    expect(f.list.listValue.values.map((v: any) => v.numberValue ?? v.stringValue)).toEqual([1, 'a']);
  });

  it('writes body replacement, clearing (also for an empty replacement) and long bodies', () => {
    const big = Buffer.alloc(300_000, 'x');
    expect(roundTrip({ kind: 'request_body', response: { body: { replace: big } } }).request_body.response.body_mutation.body.equals(big)).toBe(true);
    expect(roundTrip({ kind: 'response_body', response: { body: { clear: true } } }).response_body.response.body_mutation.clear_body).toBe(true);
    expect(roundTrip({ kind: 'response_body', response: { body: { replace: Buffer.alloc(0) } } }).response_body.response.body_mutation.clear_body).toBe(true);
    expect(roundTrip({ kind: 'response_body', response: {} }).response_body.response.body_mutation).toBeFalsy();
  });

  it('writes a streamed (full-duplex) body piece, which the bundled protos predate', () => {
    const buf = encodeResponse({ kind: 'response_body', response: { body: { streamed: Buffer.from('data: x\n\n'), endOfStream: true } } });
    // ProcessingResponse.response_body(4) > BodyResponse.response(1) > CommonResponse.body_mutation(3) > streamed_response(3)
    const path = [4, 1, 3, 3];
    let r = new ProtoReader(buf);
    for (const want of path) {
      const [field] = r.tag();
      expect(field).toBe(want);
      r = r.message();
    }
    const fields: Record<number, unknown> = {};
    while (r.more()) {
      const [f, w] = r.tag();
      fields[f] = w === 2 ? r.string() : r.bool();
    }
    expect(fields).toEqual({ 1: 'data: x\n\n', 2: true });
  });

  it('writes an immediate response with status, headers, body and details', () => {
    const out = roundTrip({
      kind: 'immediate',
      status: 429,
      headers: [
        ['retry-after', '3'],
        ['content-type', 'application/json'],
      ],
      body: Buffer.from('{"e":1}'),
      details: 'llm_gateway_rate_limit',
    });
    const i = out.immediate_response;
    expect(i.status.code).toBe('TooManyRequests');
    expect(i.headers.set_headers.map((h: any) => h.header.key)).toEqual(['retry-after', 'content-type']);
    expect(i.body.toString()).toBe('{"e":1}');
    expect(i.details).toBe('llm_gateway_rate_limit');
  });

  it('writes a mode override and trailers answers', () => {
    const out = roundTrip({ kind: 'response_headers', response: {}, modeOverride: { responseBodyMode: 'BUFFERED', responseTrailerMode: 'SKIP' } });
    expect(out.mode_override).toMatchObject({ response_body_mode: 'BUFFERED', response_trailer_mode: 'SKIP' });
    expect(roundTrip({ kind: 'response_trailers' }).response).toBe('response_trailers');
  });

  it('leaves room for the gRPC frame prefix when asked', () => {
    const plain = encodeResponse({ kind: 'request_body', response: { clearRouteCache: true } });
    const framed = encodeResponse({ kind: 'request_body', response: { clearRouteCache: true } }, true);
    expect(framed.length).toBe(plain.length + 5);
    expect(framed.subarray(5).equals(plain)).toBe(true);
  });

  it('widens a nested length past one byte without corrupting what follows', () => {
    const value = 'v'.repeat(200);
    const out = roundTrip({
      kind: 'response_headers',
      response: {
        headers: {
          set: [
            ['a', value],
            ['b', 'short'],
          ],
        },
      },
      metadata: { ns: { k: 'x'.repeat(20_000) } },
    });
    expect(out.response_headers.response.header_mutation.set_headers.map((h: any) => h.header.raw_value.toString())).toEqual([value, 'short']);
    expect(out.dynamic_metadata.fields.ns.structValue.fields.k.stringValue.length).toBe(20_000);
  });
});

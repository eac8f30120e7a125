/*
 * The ext_proc messages (envoy.service.ext_proc.v3), as the processor uses them. Field numbers
 * follow Envoy's external_processor.proto; only the fields the processor reads are decoded, and
 * unknown fields are skipped, as protobuf requires. Newer fields than the protos bundled in
 * @grpc/grpc-js-xds know (FULL_DUPLEX_STREAMED, StreamedBodyResponse) are written here too.
 */
import { ProtoDecodeError, ProtoReader, ProtoWriter, WIRE_LEN, WIRE_VARINT } from './protobuf.js';

/** JSON-like values carried in google.protobuf.Struct (dynamic metadata, attributes). */
export type StructValue = string | number | boolean | null | StructValue[] | { [k: string]: StructValue };
export type StructObject = { [k: string]: StructValue };

/** Header names are lower-case (Envoy sends them so); repeated headers are joined with ','. */
export type HeaderRecord = Record<string, string>;

/** How the filter that sent the stream is configured (Envoy sends it with the first message). */
export interface ProtocolConfig {
  requestBodyMode: BodySendMode;
  responseBodyMode: BodySendMode;
  sendBodyWithoutWaitingForHeaderResponse: boolean;
}

interface RequestCommon {
  protocol?: ProtocolConfig;
  /** `metadata_context.filter_metadata`, by namespace. */
  metadata?: Record<string, StructObject>;
  /** `attributes`, by filter name. */
  attributes?: Record<string, StructObject>;
}

export type ExtProcRequest = RequestCommon &
  (
    | { kind: 'request_headers'; headers: HeaderRecord; endOfStream: boolean }
    | { kind: 'response_headers'; headers: HeaderRecord; endOfStream: boolean }
    | { kind: 'request_body'; body: Buffer; endOfStream: boolean }
    | { kind: 'response_body'; body: Buffer; endOfStream: boolean }
    | { kind: 'request_trailers' }
    | { kind: 'response_trailers' }
  );

export type HeaderPair = readonly [name: string, value: string];

export interface HeaderMutation {
  set?: readonly HeaderPair[];
  remove?: readonly string[];
}

export type BodyMutation =
  /** BUFFERED and STREAMED modes: this message's body (or chunk) becomes `body`. */
  | { replace: Buffer }
  /** BUFFERED and STREAMED modes: this message's body (or chunk) is dropped. */
  | { clear: true }
  /** FULL_DUPLEX_STREAMED mode: the next piece of the body, the last with `endOfStream`. */
  | { streamed: Buffer; endOfStream: boolean };

export interface CommonResponse {
  headers?: HeaderMutation;
  body?: BodyMutation;
  clearRouteCache?: boolean;
}

export type HeaderSendMode = 'DEFAULT' | 'SEND' | 'SKIP';
export type BodySendMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED';

export interface ProcessingMode {
  requestHeaderMode?: HeaderSendMode;
  responseHeaderMode?: HeaderSendMode;
  requestBodyMode?: BodySendMode;
  responseBodyMode?: BodySendMode;
  requestTrailerMode?: HeaderSendMode;
  responseTrailerMode?: HeaderSendMode;
}

interface ResponseCommon {
  /** Dynamic metadata to set, by namespace. */
  metadata?: Record<string, StructObject>;
  modeOverride?: ProcessingMode;
}

export type ExtProcResponse = ResponseCommon &
  (
    | { kind: 'request_headers' | 'response_headers' | 'request_body' | 'response_body'; response: CommonResponse }
    | { kind: 'request_trailers' | 'response_trailers'; headers?: HeaderMutation }
    | { kind: 'immediate'; status: number; headers: readonly HeaderPair[]; body: Buffer; details: string }
  );

// ---- decoding ---------------------------------------------------------------------------------

const REQUEST_KINDS = ['', '', 'request_headers', 'response_headers', 'request_body', 'response_body', 'request_trailers', 'response_trailers'] as const;

/** Decodes a ProcessingRequest; throws ProtoDecodeError on malformed input or a message with no phase. */
export function decodeRequest(buf: Buffer): ExtProcRequest {
  const r = new ProtoReader(buf);
  let out: ExtProcRequest | undefined;
  let metadata: Record<string, StructObject> | undefined;
  let attributes: Record<string, StructObject> | undefined;
  let protocol: ProtocolConfig | undefined;
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field >= 2 && field <= 7 && wire === WIRE_LEN) {
      const kind = REQUEST_KINDS[field]!;
      const m = r.message();
      if (kind === 'request_headers' || kind === 'response_headers') out = { kind, ...decodeHttpHeaders(m) };
      else if (kind === 'request_body' || kind === 'response_body') out = { kind, ...decodeHttpBody(m) };
      else out = { kind: kind as 'request_trailers' | 'response_trailers' };
    } else if (field === 8 && wire === WIRE_LEN) {
      metadata = decodeMetadata(r.message());
    } else if (field === 9 && wire === WIRE_LEN) {
      attributes ??= Object.create(null) as Record<string, StructObject>;
      const [k, v] = decodeStructMapEntry(r.message());
      attributes[k] = v;
    } else if (field === 11 && wire === WIRE_LEN) {
      protocol = decodeProtocolConfig(r.message());
    } else {
      r.skip(wire);
    }
  }
  if (!out) throw new ProtoDecodeError('ProcessingRequest carries no phase');
  if (metadata) out.metadata = metadata;
  if (attributes) out.attributes = attributes;
  if (protocol) out.protocol = protocol;
  return out;
}

const BODY_MODES: readonly BodySendMode[] = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED'];

function decodeProtocolConfig(r: ProtoReader): ProtocolConfig {
  const out: ProtocolConfig = { requestBodyMode: 'NONE', responseBodyMode: 'NONE', sendBodyWithoutWaitingForHeaderResponse: false };
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_VARINT) out.requestBodyMode = BODY_MODES[r.varint()] ?? 'NONE';
    else if (field === 2 && wire === WIRE_VARINT) out.responseBodyMode = BODY_MODES[r.varint()] ?? 'NONE';
    else if (field === 3 && wire === WIRE_VARINT) out.sendBodyWithoutWaitingForHeaderResponse = r.bool();
    else r.skip(wire);
  }
  return out;
}

function decodeHttpHeaders(r: ProtoReader): { headers: HeaderRecord; endOfStream: boolean } {
  const headers = Object.create(null) as HeaderRecord;
  let endOfStream = false;
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) decodeHeaderMap(r.message(), headers);
    else if (field === 3 && wire === WIRE_VARINT) endOfStream = r.bool();
    else r.skip(wire);
  }
  return { headers, endOfStream };
}

// Tags of the fields read on every message (field << 3 | wire type).
const TAG_HEADER = (1 << 3) | WIRE_LEN;
const TAG_KEY = (1 << 3) | WIRE_LEN;
const TAG_VALUE = (2 << 3) | WIRE_LEN;
const TAG_RAW_VALUE = (3 << 3) | WIRE_LEN;

function decodeHeaderMap(r: ProtoReader, into: HeaderRecord): void {
  // Runs over every header of every message: nested messages are stepped into in place.
  while (r.more()) {
    const t = r.rawTag();
    if (t !== TAG_HEADER) {
      r.skip(t & 7);
      continue;
    }
    r.enter();
    let key = '';
    let value = '';
    let raw = '';
    while (r.more()) {
      const f = r.rawTag();
      if (f === TAG_KEY) key = r.string();
      else if (f === TAG_RAW_VALUE) raw = r.string();
      else if (f === TAG_VALUE) value = r.string();
      else r.skip(f & 7);
    }
    r.leave();
    if (!key) continue;
    // Envoy sends `raw_value` (newer releases) or `value` (older ones).
    const v = raw.length > 0 ? raw : value;
    const prev = into[key];
    into[key] = prev === undefined ? v : `${prev},${v}`;
  }
}

function decodeHttpBody(r: ProtoReader): { body: Buffer; endOfStream: boolean } {
  let body: Buffer = EMPTY;
  let endOfStream = false;
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) body = r.bytes();
    else if (field === 2 && wire === WIRE_VARINT) endOfStream = r.bool();
    else r.skip(wire);
  }
  return { body, endOfStream };
}

const EMPTY = Buffer.alloc(0);

/** config.core.v3.Metadata: only `filter_metadata` (map<string, Struct>). */
function decodeMetadata(r: ProtoReader): Record<string, StructObject> {
  const out = Object.create(null) as Record<string, StructObject>;
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) {
      const [k, v] = decodeStructMapEntry(r.message());
      out[k] = v;
    } else {
      r.skip(wire);
    }
  }
  return out;
}

function decodeStructMapEntry(r: ProtoReader): [string, StructObject] {
  let key = '';
  let value: StructObject = {};
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) key = r.string();
    else if (field === 2 && wire === WIRE_LEN) value = decodeStruct(r.message());
    else r.skip(wire);
  }
  return [key, value];
}

/** Struct nesting Envoy or a peer may send; deeper is refused rather than recursed into. */
const MAX_STRUCT_DEPTH = 32;

export function decodeStruct(r: ProtoReader, depth = 0): StructObject {
  if (depth > MAX_STRUCT_DEPTH) throw new ProtoDecodeError('Struct nested too deeply');
  const out = Object.create(null) as StructObject;
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field !== 1 || wire !== WIRE_LEN) {
      r.skip(wire);
      continue;
    }
    const e = r.message();
    let key = '';
    let value: StructValue = null;
    while (e.more()) {
      const [f, w] = e.tag();
      if (f === 1 && w === WIRE_LEN) key = e.string();
      else if (f === 2 && w === WIRE_LEN) value = decodeValue(e.message(), depth + 1);
      else e.skip(w);
    }
    out[key] = value;
  }
  return out;
}

function decodeValue(r: ProtoReader, depth: number): StructValue {
  let v: StructValue = null;
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_VARINT) {
      r.varint();
      v = null;
    } else if (field === 2 && wire === 1) v = r.double();
    else if (field === 3 && wire === WIRE_LEN) v = r.string();
    else if (field === 4 && wire === WIRE_VARINT) v = r.bool();
    else if (field === 5 && wire === WIRE_LEN) v = decodeStruct(r.message(), depth + 1);
    else if (field === 6 && wire === WIRE_LEN) v = decodeList(r.message(), depth + 1);
    else r.skip(wire);
  }
  return v;
}

function decodeList(r: ProtoReader, depth: number): StructValue[] {
  if (depth > MAX_STRUCT_DEPTH) throw new ProtoDecodeError('ListValue nested too deeply');
  const out: StructValue[] = [];
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) out.push(decodeValue(r.message(), depth + 1));
    else r.skip(wire);
  }
  return out;
}

// ---- encoding ---------------------------------------------------------------------------------

const RESPONSE_FIELD = {
  request_headers: 1,
  response_headers: 2,
  request_body: 3,
  response_body: 4,
  request_trailers: 5,
  response_trailers: 6,
  immediate: 7,
} as const;

const HEADER_MODE: Record<HeaderSendMode, number> = { DEFAULT: 0, SEND: 1, SKIP: 2 };
const BODY_MODE: Record<BodySendMode, number> = { NONE: 0, STREAMED: 1, BUFFERED: 2, BUFFERED_PARTIAL: 3, FULL_DUPLEX_STREAMED: 4 };
/** HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD */
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

/**
 * Encodes a ProcessingResponse. With `frameHeader`, 5 bytes are left at the front for the gRPC
 * message prefix (filled by the caller), so the frame needs no second copy.
 */
export function encodeResponse(res: ExtProcResponse, frameHeader = false): Buffer {
  const body = res.kind === 'immediate' ? res.body : 'response' in res ? bodyOf(res.response.body) : undefined;
  const w = new ProtoWriter(256 + (body?.length ?? 0), frameHeader ? 5 : 0);
  w.begin(RESPONSE_FIELD[res.kind]);
  switch (res.kind) {
    case 'immediate':
      w.begin(1).uint(1, res.status).end();
      if (res.headers.length > 0) writeHeaderMutation(w.begin(2), { set: res.headers }).end();
      if (res.body.length > 0) w.bytes(3, res.body);
      if (res.details) w.string(5, res.details);
      break;
    case 'request_trailers':
    case 'response_trailers':
      if (res.headers) writeHeaderMutation(w.begin(1), res.headers).end();
      break;
    default:
      writeCommonResponse(w.begin(1), res.response).end();
  }
  w.end();
  if (res.metadata) writeStruct(w.begin(8), res.metadata).end();
  if (res.modeOverride) writeMode(w.begin(9), res.modeOverride).end();
  return w.finish();
}

function bodyOf(m: BodyMutation | undefined): Buffer | undefined {
  if (!m) return undefined;
  if ('replace' in m) return m.replace;
  if ('streamed' in m) return m.streamed;
  return undefined;
}

function writeCommonResponse(w: ProtoWriter, c: CommonResponse): ProtoWriter {
  if (c.headers && ((c.headers.set?.length ?? 0) > 0 || (c.headers.remove?.length ?? 0) > 0)) writeHeaderMutation(w.begin(2), c.headers).end();
  const b = c.body;
  if (b) {
    w.begin(3);
    // An empty replacement must be sent as clear_body: empty bytes cannot be told from unset.
    if ('replace' in b) b.replace.length > 0 ? w.bytes(1, b.replace) : w.bool(2, true);
    else if ('clear' in b) w.bool(2, true);
    else {
      w.begin(3);
      if (b.streamed.length > 0) w.bytes(1, b.streamed);
      if (b.endOfStream) w.bool(2, true);
      w.end();
    }
    w.end();
  }
  if (c.clearRouteCache) w.bool(5, true);
  return w;
}

function writeHeaderMutation(w: ProtoWriter, m: HeaderMutation): ProtoWriter {
  for (const [key, value] of m.set ?? []) {
    w.begin(1);
    w.begin(1).name(1, key).string(3, value).end();
    w.uint(3, OVERWRITE_IF_EXISTS_OR_ADD);
    w.end();
  }
  for (const name of m.remove ?? []) w.name(2, name);
  return w;
}

function writeMode(w: ProtoWriter, m: ProcessingMode): ProtoWriter {
  if (m.requestHeaderMode) w.uint(1, HEADER_MODE[m.requestHeaderMode]);
  if (m.responseHeaderMode) w.uint(2, HEADER_MODE[m.responseHeaderMode]);
  if (m.requestBodyMode) w.uint(3, BODY_MODE[m.requestBodyMode]);
  if (m.responseBodyMode) w.uint(4, BODY_MODE[m.responseBodyMode]);
  if (m.requestTrailerMode) w.uint(5, HEADER_MODE[m.requestTrailerMode]);
  if (m.responseTrailerMode) w.uint(6, HEADER_MODE[m.responseTrailerMode]);
  return w;
}

/** google.protobuf.Struct from a plain object; `undefined` members are left out. */
export function writeStruct(w: ProtoWriter, obj: Readonly<Record<string, StructValue | undefined>>): ProtoWriter {
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    w.begin(1).name(1, key);
    writeValue(w.begin(2), v).end();
    w.end();
  }
  return w;
}

function writeValue(w: ProtoWriter, v: StructValue): ProtoWriter {
  if (v === null) return w.uint(1, 0);
  switch (typeof v) {
    case 'number':
      return w.double(2, v);
    case 'string':
      return w.string(3, v);
    case 'boolean':
      return w.bool(4, v);
  }
  if (Array.isArray(v)) {
    w.begin(6);
    for (const item of v) writeValue(w.begin(1), item).end();
    return w.end();
  }
  return writeStruct(w.begin(5), v).end();
}

/*
 * Envoy's side of the ext_proc stream, for component tests: encodes ProcessingRequest messages
 * (including the newer fields the protos bundled with @grpc/grpc-js-xds predate, such as
 * protocol_config) and decodes ProcessingResponse messages (including full-duplex streamed
 * bodies), over a real HTTP/2 connection to the processor.
 */
import http2 from 'node:http2';
import { decodeStruct, type StructObject, writeStruct } from '../../ext-proc/src/server/codec/messages.js';
import { ProtoReader, ProtoWriter } from '../../ext-proc/src/server/codec/protobuf.js';

export type BodyMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED';
const BODY_MODE: Record<BodyMode, number> = { NONE: 0, STREAMED: 1, BUFFERED: 2, BUFFERED_PARTIAL: 3, FULL_DUPLEX_STREAMED: 4 };

export type PeerRequest = (
  | { kind: 'request_headers' | 'response_headers'; headers: Record<string, string>; endOfStream?: boolean }
  | { kind: 'request_body' | 'response_body'; body: Buffer | string; endOfStream: boolean }
  | { kind: 'request_trailers' | 'response_trailers'; headers?: Record<string, string> }
) & {
  protocol?: { requestBodyMode: BodyMode; responseBodyMode: BodyMode; sendBodyWithoutWaitingForHeaderResponse: boolean };
  metadata?: Record<string, StructObject>;
  attributes?: Record<string, StructObject>;
};

const FIELD = { request_headers: 2, response_headers: 3, request_body: 4, response_body: 5, request_trailers: 6, response_trailers: 7 } as const;

export function encodeRequest(r: PeerRequest): Buffer {
  const w = new ProtoWriter();
  w.begin(FIELD[r.kind]);
  if ('headers' in r) {
    w.begin(1);
    for (const [key, value] of Object.entries(r.headers ?? {})) w.begin(1).string(1, key).bytes(3, Buffer.from(value, 'utf8')).end();
    w.end();
    if ('endOfStream' in r && r.endOfStream) w.bool(3, true);
  } else if ('body' in r) {
    const body = Buffer.from(r.body);
    if (body.length > 0) w.bytes(1, body);
    if (r.endOfStream) w.bool(2, true);
  }
  w.end();
  if (r.metadata) {
    w.begin(8);
    for (const [ns, s] of Object.entries(r.metadata)) writeStruct(w.begin(1).string(1, ns).begin(2), s).end().end();
    w.end();
  }
  for (const [name, s] of Object.entries(r.attributes ?? {})) writeStruct(w.begin(9).string(1, name).begin(2), s).end().end();
  if (r.protocol) {
    w.begin(11).uint(1, BODY_MODE[r.protocol.requestBodyMode]).uint(2, BODY_MODE[r.protocol.responseBodyMode]);
    if (r.protocol.sendBodyWithoutWaitingForHeaderResponse) w.bool(3, true);
    w.end();
  }
  return w.finish();
}

export interface PeerMutation {
  set: Record<string, string>;
  remove: string[];
}

export interface PeerResponse {
  kind: 'request_headers' | 'response_headers' | 'request_body' | 'response_body' | 'request_trailers' | 'response_trailers' | 'immediate';
  headers: PeerMutation;
  body?: { replace?: Buffer; clear?: true; streamed?: Buffer; endOfStream?: boolean };
  clearRouteCache: boolean;
  immediate?: { status: number; body: Buffer; details: string };
  metadata?: StructObject;
  modeOverride?: Record<number, number>;
}

const KINDS = ['', 'request_headers', 'response_headers', 'request_body', 'response_body', 'request_trailers', 'response_trailers', 'immediate'] as const;

function readMutation(r: ProtoReader, into: PeerMutation): void {
  while (r.more()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) {
      const opt = r.message();
      while (opt.more()) {
        const [of, ow] = opt.tag();
        if (of !== 1 || ow !== 2) {
          opt.skip(ow);
          continue;
        }
        const hv = opt.message();
        let key = '';
        let value = '';
        while (hv.more()) {
          const [hf, hw] = hv.tag();
          if (hf === 1) key = hv.string();
          else if (hf === 2 || hf === 3) value = hv.string();
          else hv.skip(hw);
        }
        into.set[key] = value;
      }
    } else if (f === 2 && w === 2) into.remove.push(r.string());
    else r.skip(w);
  }
}

export function decodeResponse(buf: Buffer): PeerResponse {
  const r = new ProtoReader(buf);
  const out: PeerResponse = { kind: 'immediate', headers: { set: {}, remove: [] }, clearRouteCache: false };
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field >= 1 && field <= 6 && wire === 2) {
      out.kind = KINDS[field] as PeerResponse['kind'];
      const m = r.message();
      while (m.more()) {
        const [f, w] = m.tag();
        if (f !== 1 || w !== 2) {
          m.skip(w);
          continue;
        }
        const c = m.message();
        if (field === 5 || field === 6) {
          readMutation(c, out.headers);
          continue;
        }
        while (c.more()) {
          const [cf, cw] = c.tag();
          if (cf === 2 && cw === 2) readMutation(c.message(), out.headers);
          else if (cf === 3 && cw === 2) {
            const b = c.message();
            out.body = {};
            while (b.more()) {
              const [bf, bw] = b.tag();
              if (bf === 1) out.body.replace = Buffer.from(b.bytes());
              else if (bf === 2) {
                if (b.bool()) out.body.clear = true;
              } else if (bf === 3) {
                const s = b.message();
                out.body.streamed = Buffer.alloc(0);
                while (s.more()) {
                  const [sf, sw] = s.tag();
                  if (sf === 1) out.body.streamed = Buffer.from(s.bytes());
                  else if (sf === 2) out.body.endOfStream = s.bool();
                  else s.skip(sw);
                }
              } else b.skip(bw);
            }
          } else if (cf === 5 && cw === 0) out.clearRouteCache = c.bool();
          else c.skip(cw);
        }
      }
    } else if (field === 7 && wire === 2) {
      out.kind = 'immediate';
      const m = r.message();
      out.immediate = { status: 0, body: Buffer.alloc(0), details: '' };
      while (m.more()) {
        const [f, w] = m.tag();
        if (f === 1) {
          const st = m.message();
          while (st.more()) {
            const [sf, sw] = st.tag();
            if (sf === 1) out.immediate.status = st.varint();
            else st.skip(sw);
          }
        } else if (f === 2) readMutation(m.message(), out.headers);
        else if (f === 3) out.immediate.body = Buffer.from(m.bytes());
        else if (f === 5) out.immediate.details = m.string();
        else m.skip(w);
      }
    } else if (field === 8 && wire === 2) {
      out.metadata = decodeStruct(r.message());
    } else if (field === 9 && wire === 2) {
      const m = r.message();
      out.modeOverride = {};
      while (m.more()) {
        const [f, w] = m.tag();
        if (w === 0) out.modeOverride[f] = m.varint();
        else m.skip(w);
      }
    } else r.skip(wire);
  }
  return out;
}

const PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

/** One ext_proc stream as Envoy opens it: send messages without waiting, read answers as they come. */
export class EnvoyPeer {
  private readonly stream: http2.ClientHttp2Stream;
  private pending = Buffer.alloc(0);
  private readonly answers: PeerResponse[] = [];
  private waiters: Array<() => void> = [];
  grpcStatus: string | undefined;
  closed = false;

  constructor(session: http2.ClientHttp2Session) {
    this.stream = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers' });
    this.stream.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 5) {
        const len = this.pending.readUInt32BE(1);
        if (this.pending.length < 5 + len) break;
        this.answers.push(decodeResponse(this.pending.subarray(5, 5 + len)));
        this.pending = this.pending.subarray(5 + len);
      }
      this.wake();
    });
    this.stream.on('trailers', (t) => (this.grpcStatus = String(t['grpc-status'])));
    this.stream.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.stream.on('error', () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(...reqs: PeerRequest[]): void {
    for (const r of reqs) {
      const msg = encodeRequest(r);
      const framed = Buffer.alloc(5 + msg.length);
      framed.writeUInt32BE(msg.length, 1);
      msg.copy(framed, 5);
      this.stream.write(framed);
    }
  }

  /** The next `n` answers (fails after `ms`). */
  async next(n = 1, ms = 3000): Promise<PeerResponse[]> {
    const deadline = Date.now() + ms;
    while (this.answers.length < n) {
      if (this.closed) throw new Error(`stream closed after ${this.answers.length} of ${n} answers`);
      if (Date.now() > deadline) throw new Error(`only ${this.answers.length} of ${n} answers in ${ms} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
    return this.answers.splice(0, n);
  }

  /** Answers received so far, without waiting. */
  received(): number {
    return this.answers.length;
  }

  /** Envoy's graceful close: half-close, then the processor ends the stream. */
  end(): void {
    this.stream.end();
  }

  /** The client went away: Envoy resets the stream. */
  reset(): void {
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

/** The gateway's own filter configuration, as Envoy states it in the first message. */
export const GATEWAY_PROTOCOL = {
  requestBodyMode: 'STREAMED',
  responseBodyMode: 'FULL_DUPLEX_STREAMED',
  sendBodyWithoutWaitingForHeaderResponse: true,
} as const;

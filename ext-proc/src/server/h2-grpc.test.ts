/*
 * Regression tests for the gRPC stream handling on node:http2, one per fault the fuzzing in
 * grpc-handler.fuzz.test.ts found, driven from a raw node:http2 client.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtoDecodeError } from './codec/protobuf.js';
import { type BidiMethod, GRPC_STATUS, type H2GrpcServer, MessageReader, startH2GrpcServer } from './h2-grpc.js';

const MAX = 1024;
const PATH = '/test.Echo/Chat';
let server: H2GrpcServer;
let session: http2.ClientHttp2Session;
const stats = { opened: 0, closed: 0 };

/** Echoes each message; one starting with 0xee cannot be decoded. */
const echo: BidiMethod<Buffer, Buffer> = {
  path: PATH,
  decode(buf) {
    if (buf[0] === 0xee) throw new ProtoDecodeError('undecodable');
    return Buffer.from(buf);
  },
  encodeFramed: (res) => Buffer.concat([Buffer.alloc(5), res]),
  open(stream) {
    stats.opened++;
    return { message: (m) => stream.send(m), close: () => void stats.closed++ };
  },
};

beforeAll(async () => {
  server = await startH2GrpcServer({
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: MAX,
    methods: [echo],
    healthServices: [],
    authorize: (h) => h['x-token'] === 'ok',
  });
  session = http2.connect(`http://127.0.0.1:${server.port}`);
});

afterAll(async () => {
  session?.close();
  await server?.shutdown(200);
});

function frame(msg: Buffer, flag = 0, declared = msg.length): Buffer {
  const out = Buffer.alloc(5 + msg.length);
  out[0] = flag;
  out.writeUInt32BE(declared, 1);
  msg.copy(out, 5);
  return out;
}

interface Seen {
  status: string | undefined;
  data: Buffer;
  closed: Promise<void>;
  isClosed: () => boolean;
}

function open(stream: http2.ClientHttp2Stream): Seen {
  const chunks: Buffer[] = [];
  let done = false;
  const seen: Seen = {
    status: undefined,
    data: Buffer.alloc(0),
    closed: new Promise<void>((resolve) =>
      stream.on('close', () => {
        done = true;
        seen.data = Buffer.concat(chunks);
        resolve();
      }),
    ),
    isClosed: () => done,
  };
  stream.on('response', (h) => (seen.status ??= h['grpc-status'] as string | undefined));
  stream.on('trailers', (t) => (seen.status = String(t['grpc-status'])));
  stream.on('data', (d: Buffer) => chunks.push(d));
  stream.on('error', () => undefined);
  return seen;
}

const call = (headers: http2.OutgoingHttpHeaders = { 'x-token': 'ok' }) =>
  session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', ...headers });

async function within<T>(p: Promise<T>, ms = 2000): Promise<T | 'timeout'> {
  return Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
}

async function released(): Promise<void> {
  const deadline = Date.now() + 2000;
  while (server.activeStreams() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(server.activeStreams()).toBe(0);
  expect(stats.closed).toBe(stats.opened);
}

describe('MessageReader', () => {
  it('hands out the messages before a refused prefix that arrived in the same chunk', () => {
    const reader = new MessageReader(MAX);
    const got = reader.push(Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two')), frame(Buffer.from('x'), 1)]));
    expect(got.map(String)).toEqual(['one', 'two']);
    expect(reader.error?.status).toBe(GRPC_STATUS.INTERNAL);
    expect(reader.push(frame(Buffer.from('after')))).toEqual([]);
  });
});

describe('h2-grpc streams', () => {
  it('a stream that ends inside a message ends with INTERNAL, not OK', async () => {
    const s = call();
    const seen = open(s);
    s.write(frame(Buffer.from('whole')));
    s.end(frame(Buffer.from('cut short')).subarray(0, 8));
    await seen.closed;
    expect(seen.status).toBe(GRPC_STATUS.INTERNAL);
    await released();
  });

  it('the first fault in the stream decides its status, however the DATA frames cut it', async () => {
    // One write: a good message, an undecodable one, then an oversize prefix.
    const s = call();
    const seen = open(s);
    s.write(Buffer.concat([frame(Buffer.from('good')), frame(Buffer.from([0xee])), frame(Buffer.alloc(0), 0, MAX + 1)]));
    await within(seen.closed);
    expect(seen.status).toBe(GRPC_STATUS.INTERNAL);
    expect(seen.data.subarray(5).toString()).toBe('good');
    await released();
  });

  it('a refused stream is closed once its trailers are out, though its peer never ends it', async () => {
    const s = call();
    const seen = open(s);
    s.write(frame(Buffer.alloc(0), 0, MAX + 1));
    expect(await within(seen.closed)).not.toBe('timeout');
    expect(seen.status).toBe(GRPC_STATUS.RESOURCE_EXHAUSTED);
    await released();
  });

  it('a peer resetting a stream (NO_ERROR) before the refusal reaches it leaves nothing open', async () => {
    // Raw HTTP/2 from a peer that grants no flow-control window: the echo of its first message,
    // and the trailers behind it, cannot leave when the oversize prefix after it is refused. It
    // then resets the stream (NO_ERROR, without END_STREAM).
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    const { opened, closed } = stats;
    socket.write(
      Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        h2frame(0x4, 0, 0, Buffer.from([0x00, 0x04, 0, 0, 0, 0])), // SETTINGS: INITIAL_WINDOW_SIZE 0
        h2frame(
          0x1,
          0x4,
          1,
          hpack({ ':method': 'POST', ':scheme': 'http', ':path': PATH, ':authority': 'x', 'content-type': 'application/grpc', 'x-token': 'ok' }),
        ),
        h2frame(0x0, 0, 1, Buffer.concat([frame(Buffer.from('a')), frame(Buffer.alloc(0), 0, MAX + 1)])),
      ]),
    );
    const deadline = Date.now() + 2000;
    while (stats.opened === opened && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(stats.opened).toBe(opened + 1);
    await new Promise((r) => setTimeout(r, 50));
    socket.write(h2frame(0x3, 0, 1, Buffer.alloc(4))); // RST_STREAM(NO_ERROR)
    await released();
    expect(stats.closed).toBe(closed + 1);
    socket.destroy();
  });
});

/** One HTTP/2 frame: 24-bit length, type, flags, stream id. */
function h2frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK header block of literal fields without indexing (names and values under 127 bytes). */
function hpack(headers: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.entries(headers).map(([k, v]) => Buffer.concat([Buffer.from([0x00, k.length]), Buffer.from(k), Buffer.from([v.length]), Buffer.from(v)])),
  );
}

import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import http2 from 'node:http2';

/*
 * The small part of gRPC the processor serves, directly on node:http2: one bidirectional stream
 * method (ext_proc's Process) and the unary grpc.health.v1 Check. Every LLM call opens one such
 * stream and exchanges four or more messages on it, so per-call overhead is the processor's
 * added latency; a general gRPC server (interceptors, metadata objects, deadlines, compression
 * negotiation) cost about twice the CPU per call in `npm run bench`'s profile.
 *
 * Wire format (gRPC over HTTP/2): request headers with content-type application/grpc; each
 * message is a 1-byte compressed flag, a 4-byte big-endian length and the protobuf bytes; the
 * server answers with :status 200, its messages, then trailers carrying grpc-status.
 */

/** The sending half of one bidirectional stream, handed to the method's handler. */
export interface ReplyStream<Res> {
  /** Sends one message now (nothing is sent after the stream has ended). */
  send(res: Res): void;
}

/** What a method does with one stream: each message as it arrives, then the end. */
export interface StreamHandler<Req> {
  message(req: Req): void;
  /** Called once when the stream is over, whichever way it ended. */
  close(): void;
}

export interface BidiMethod<Req, Res> {
  path: string;
  decode(buf: Buffer): Req;
  /** The message's bytes with 5 bytes free at the front, where the gRPC message prefix goes. */
  encodeFramed(res: Res): Buffer;
  open(stream: ReplyStream<Res>): StreamHandler<Req>;
}

export type HealthStatus = 'SERVING' | 'NOT_SERVING';

export interface H2GrpcServer {
  port: number;
  activeStreams(): number;
  setHealth(status: HealthStatus): void;
  /** Stops new connections and streams; resolves when streams are done or after graceMs (then cuts them). */
  shutdown(graceMs: number): Promise<boolean>;
}

export const GRPC_STATUS = {
  OK: '0',
  NOT_FOUND: '5',
  UNAUTHENTICATED: '16',
  RESOURCE_EXHAUSTED: '8',
  UNIMPLEMENTED: '12',
  INTERNAL: '13',
  UNAVAILABLE: '14',
} as const;
const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/**
 * Splits the incoming byte stream into gRPC messages (they may span or share DATA frames).
 * A large message arrives in many frames: they are only joined once all of it is there, so a
 * prompt of several megabytes is copied once, not once per frame.
 */
export class MessageReader {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes the message being read needs in all (prefix included), once its prefix is known. */
  private need = 0;

  /**
   * Set once a message's prefix is refused (compressed, or longer than the maximum): nothing
   * after it is read, and the stream is to end with this status.
   */
  error: GrpcError | undefined;

  constructor(private readonly maxBytes: number) {}

  /**
   * Returns the complete messages now available. A refused prefix sets `error`; the messages
   * before it are still returned, whatever DATA frames carried them, so that the stream fails
   * at the same point however the peer's bytes were cut.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.error) return [];
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.need === 0) {
        if (this.size < 5) break;
        const head = this.chunks[0]!.length >= 5 ? this.chunks[0]! : this.flatten();
        const len = head.readUInt32BE(1);
        if (head[0] !== 0) this.error = new GrpcError(GRPC_STATUS.INTERNAL, 'compressed messages are not supported');
        else if (len > this.maxBytes) this.error = new GrpcError(GRPC_STATUS.RESOURCE_EXHAUSTED, `message of ${len} bytes exceeds ${this.maxBytes}`);
        if (this.error) {
          // Nothing of it is kept, or waited for.
          this.chunks = [];
          this.size = 0;
          break;
        }
        this.need = 5 + len;
      }
      if (this.size < this.need) break;
      const all = this.flatten();
      out.push(all.subarray(5, this.need));
      const rest = all.subarray(this.need);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.size = rest.length;
      this.need = 0;
    }
    return out;
  }

  /** Whether part of a message (or of its prefix) has arrived and the rest has not. */
  pending(): boolean {
    return this.size > 0;
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0]!;
  }
}

export class GrpcError extends Error {
  constructor(
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

/** grpc.health.v1 HealthCheckRequest: field 1 `service` (string). */
function decodeHealthService(buf: Buffer): string {
  if (buf.length < 2 || buf[0] !== 0x0a) return '';
  let len = 0;
  let shift = 0;
  let i = 1;
  for (; i < buf.length; i++) {
    const b = buf[i]!;
    len |= (b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) === 0) break;
  }
  return buf.subarray(i + 1, i + 1 + len).toString('utf8');
}

export async function startH2GrpcServer(o: {
  host: string;
  port: number;
  /** A Unix socket to listen on as well (a stale file from a previous run is replaced). */
  socketPath?: string;
  /** Decides whether a method call may proceed, from its request headers (health checks are always answered). */
  authorize?: (headers: http2.IncomingHttpHeaders) => boolean;
  maxMessageBytes: number;
  // Each method has its own message types; the server only moves their bytes.
  // biome-ignore lint/suspicious/noExplicitAny: a list of methods of different message types
  methods: BidiMethod<any, any>[];
  healthServices: string[];
  onError?: (err: Error) => void;
}): Promise<H2GrpcServer> {
  const methods = new Map(o.methods.map((m) => [m.path, m]));
  const health = new Map<string, HealthStatus>([['', 'SERVING'], ...o.healthServices.map((s) => [s, 'SERVING'] as const)]);
  const sessions = new Set<http2.ServerHttp2Session>();
  let active = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const server = http2.createServer({
    // Prompts arrive whole in one message: allow windows and session memory well above them.
    settings: { maxConcurrentStreams: 100_000, initialWindowSize: 4 * 1024 * 1024, maxFrameSize: 1024 * 1024 },
    maxSessionMemory: Math.ceil((o.maxMessageBytes * 4) / (1024 * 1024)),
  });

  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', (err) => o.onError?.(err));
    session.on('connect', () => session.setLocalWindowSize(32 * 1024 * 1024));
    if (closing) session.close();
  });

  server.on('stream', (stream, headers) => {
    const path = headers[':path'] as string | undefined;
    if (path === HEALTH_CHECK_PATH) return serveHealth(stream);
    const method = path ? methods.get(path) : undefined;
    if (method && o.authorize && !o.authorize(headers)) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': GRPC_STATUS.UNAUTHENTICATED, 'grpc-message': 'not authorized' },
        { endStream: true },
      );
      return;
    }
    if (!method || closing) {
      const status = closing ? GRPC_STATUS.UNAVAILABLE : GRPC_STATUS.UNIMPLEMENTED;
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': status, 'grpc-message': closing ? 'server is shutting down' : 'unknown method' },
        { endStream: true },
      );
      return;
    }
    serveBidi(stream, method);
  });

  /**
   * RST_STREAM(NO_ERROR) once the answer is out (RFC 9113 §8.1: a server may answer before the
   * request is complete, then reset the stream with NO_ERROR): what the peer still sends is not
   * read, and it cannot hold the stream open. (A trailers-only refusal above needs none: node:http2
   * resets a stream that was answered without reading it.) On the next turn of the event loop: a
   * reset submitted while node:http2 is still writing the stream's last frames makes it drop them.
   */
  function resetAfterAnswer(stream: http2.ServerHttp2Stream): void {
    setImmediate(() => stream.close(http2.constants.NGHTTP2_NO_ERROR));
  }

  function serveHealth(stream: http2.ServerHttp2Stream): void {
    const reader = new MessageReader(1024);
    let service: string | undefined;
    stream.on('data', (chunk: Buffer) => {
      for (const msg of reader.push(chunk)) service = decodeHealthService(msg);
      if (reader.error) service = undefined;
    });
    stream.on('end', () => {
      const status = service === undefined ? undefined : health.get(service);
      if (!status) {
        // The health protocol answers an unknown service with NOT_FOUND.
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': GRPC_STATUS.NOT_FOUND }, { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      // HealthCheckResponse: field 1 `status` enum (SERVING=1, NOT_SERVING=2).
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': GRPC_STATUS.OK }));
      stream.end(frame(Buffer.from([0x08, status === 'SERVING' ? 1 : 2])));
    });
    stream.on('error', () => undefined);
  }

  function serveBidi(stream: http2.ServerHttp2Stream, method: BidiMethod<unknown, unknown>): void {
    active++;
    let finished = false;
    let trailerStatus: string = GRPC_STATUS.OK;
    let trailerMessage: string | undefined;
    const fail = (err: unknown) => {
      trailerStatus = err instanceof GrpcError ? err.status : GRPC_STATUS.INTERNAL;
      trailerMessage = err instanceof Error ? err.message : String(err);
      o.onError?.(err instanceof Error ? err : new Error(String(err)));
      if (!stream.writableEnded) stream.end();
    };
    // Messages sent in one turn of the event loop (a phase's headers and body answers) leave in
    // one write: one DATA frame and one syscall instead of one each.
    let corked = false;
    const uncork = () => {
      corked = false;
      stream.uncork();
    };
    const handler = method.open({
      send(res) {
        if (stream.writableEnded || stream.destroyed) return;
        const framed = method.encodeFramed(res);
        framed[0] = 0;
        framed.writeUInt32BE(framed.length - 5, 1);
        if (!corked) {
          corked = true;
          stream.cork();
          process.nextTick(uncork);
        }
        stream.write(framed);
      },
    });
    const finish = () => {
      if (finished) return;
      finished = true;
      active--;
      handler.close();
      if (active === 0) drained?.();
    };

    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => {
      const t: Record<string, string> = { 'grpc-status': trailerStatus };
      if (trailerMessage) t['grpc-message'] = encodeURIComponent(trailerMessage);
      stream.sendTrailers(t);
      // A failed stream's peer may still be sending (the rest of an oversize message, more
      // messages): reset once the trailers are out, so that nothing more is read and the stream
      // does not stay open until the peer stops.
      if (trailerStatus !== GRPC_STATUS.OK) resetAfterAnswer(stream);
    });
    const reader = new MessageReader(o.maxMessageBytes);
    stream.on('data', (chunk: Buffer) => {
      if (stream.writableEnded) return;
      try {
        for (const msg of reader.push(chunk)) handler.message(method.decode(msg));
        if (reader.error) throw reader.error;
      } catch (err) {
        fail(err);
      }
    });
    // The peer half-closed: this side has answered what it will answer, or will when its pending
    // work completes; the handler ends the stream then (see close()).
    stream.on('end', () => {
      if (stream.writableEnded) {
        // This side ended first (a failed stream) and the peer reset the stream before the
        // trailers went out: node:http2 would wait for trailers it can no longer send, and never
        // close the stream. It is over: release it.
        if (stream.closed && !stream.destroyed) stream.destroy();
        return;
      }
      // A message cut off by the end of the stream is an error, not a clean end (gRPC: INTERNAL).
      if (reader.pending()) return fail(new GrpcError(GRPC_STATUS.INTERNAL, 'the stream ended inside a message'));
      stream.end();
    });
    stream.on('close', finish);
    stream.on('error', () => undefined);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  // The same HTTP/2 server behind a second listener: each accepted socket is handed to it.
  let unixServer: net.Server | undefined;
  if (o.socketPath) {
    mkdirSync(path.dirname(o.socketPath), { recursive: true, mode: 0o700 });
    if (existsSync(o.socketPath)) unlinkSync(o.socketPath);
    const srv = net.createServer((socket) => server.emit('connection', socket));
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      // Exclusive: a worker's own socket, not one shared through a cluster primary.
      srv.listen({ path: o.socketPath, exclusive: true }, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    unixServer = srv;
  }

  return {
    port: typeof addr === 'object' && addr ? addr.port : o.port,
    activeStreams: () => active,
    setHealth(status) {
      for (const k of health.keys()) health.set(k, status);
    },
    shutdown(graceMs) {
      closing = true;
      server.close();
      unixServer?.close();
      // GOAWAY: the peer opens no new streams here; streams in flight continue.
      for (const s of sessions) s.close();
      return new Promise<boolean>((resolve) => {
        const done = (clean: boolean) => {
          clearTimeout(timer);
          for (const s of sessions) s.destroy();
          resolve(clean);
        };
        const timer = setTimeout(() => done(false), graceMs);
        timer.unref();
        if (active === 0) done(true);
        else drained = () => done(true);
      });
    },
  };
}

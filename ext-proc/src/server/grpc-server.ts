import { createHash, timingSafeEqual } from 'node:crypto';
import { EXT_PROC_SERVICE, PROCESSOR_TOKEN_HEADER } from '../contract.js';
import { AttemptHandler, chainAttemptBackend } from '../pipeline/attempt.js';
import type { GatewayContext } from '../pipeline/context.js';
import { RouterHandler } from '../pipeline/request.js';
import { decodeRequest, encodeResponse, type ExtProcRequest, type ExtProcResponse } from './codec/messages.js';
import { Exchange } from './exchange.js';
import { startH2GrpcServer } from './h2-grpc.js';

const PROCESS_PATH = `/${EXT_PROC_SERVICE}/Process`;

/** Digests compare in constant time whatever the lengths. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Large prompts arrive in body messages of up to Envoy's buffer: allow well above the request limit. */
function maxMessageBytes(maxRequestBytes: number): number {
  return Math.max(maxRequestBytes * 2, 64 * 1024 * 1024);
}

export interface ExtProcServer {
  port: number;
  /** Stops taking new streams, lets in-flight ones finish, cuts what is left after `graceMs`. */
  shutdown(graceMs: number): Promise<void>;
  inFlight(): number;
}

export async function startExtProcServer(ctx: GatewayContext, host: string, port: number, socketPath?: string, token?: string): Promise<ExtProcServer> {
  const router = new RouterHandler(ctx);
  const expected = token === undefined ? undefined : digest(token);
  const server = await startH2GrpcServer({
    host,
    port,
    socketPath,
    authorize:
      expected &&
      ((headers) => {
        const given = headers[PROCESSOR_TOKEN_HEADER];
        return typeof given === 'string' && timingSafeEqual(digest(given), expected);
      }),
    maxMessageBytes: maxMessageBytes(ctx.maxRequestBytes),
    healthServices: [EXT_PROC_SERVICE],
    onError: (err) => ctx.log.debug({ err: err.message }, 'ext_proc transport error'),
    methods: [
      {
        path: PROCESS_PATH,
        decode: decodeRequest,
        encodeFramed: (res: ExtProcResponse) => encodeResponse(res, true),
        open(stream) {
          // Router-level streams and per-attempt (upstream filter) streams share the service; only
          // the latter carry the picked endpoint's metadata, which a caller cannot forge.
          let exchange: Exchange<unknown> | undefined;
          const send = (r: ExtProcResponse) => stream.send(r);
          return {
            message(req: ExtProcRequest) {
              if (!exchange) {
                const backend = chainAttemptBackend(req);
                const handler = backend === undefined ? router : new AttemptHandler(ctx, backend);
                exchange = new Exchange<unknown>(handler as never, send, ctx.maxRequestBytes);
              }
              exchange.message(req);
            },
            close() {
              exchange?.close();
            },
          };
        },
      },
    ],
  });

  return {
    port: server.port,
    inFlight: server.activeStreams,
    async shutdown(graceMs: number) {
      // Tell health checkers first so Envoy stops choosing this replica.
      server.setHealth('NOT_SERVING');
      const clean = await server.shutdown(graceMs);
      if (!clean) ctx.log.warn('shutdown grace period over; remaining streams were cut');
    },
  };
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { EXT_PROC_SERVICE, PROCESSOR_TOKEN_HEADER } from '../contract.js';
import { AttemptHandler, chainAttemptBackend } from '../pipeline/attempt.js';
import type { GatewayContext } from '../pipeline/context.js';
import { RouterHandler } from '../pipeline/request.js';
import { decodeRequest, encodeResponse, type ExtProcRequest, type ExtProcResponse } from './codec/messages.js';
import { Exchange } from './exchange.js';
import { startH2GrpcServer } from './h2-grpc.js';
import { registerPhaseMetrics } from './phase-metrics.js';

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

/**
 * `context`: the gateway's context, or a function answering the one in force (hot reload). Each
 * stream reads it once, at its first message, and keeps it: a reload never changes a call midway.
 */
export async function startExtProcServer(
  context: GatewayContext | (() => GatewayContext),
  host: string,
  port: number,
  socketPath?: string,
  token?: string,
): Promise<ExtProcServer> {
  const current = typeof context === 'function' ? context : () => context;
  // What does not change across reloads (metrics, log, size limit) is read from the first context.
  const ctx = current();
  // One router-level handler per context (it holds nothing else): rebuilt after a reload.
  let routed = { gw: ctx, handler: new RouterHandler(ctx) };
  const routerFor = (gw: GatewayContext) => (routed.gw === gw ? routed : (routed = { gw, handler: new RouterHandler(gw) })).handler;
  const expected = token === undefined ? undefined : digest(token);
  // Until the server is up there are no streams.
  let streams = () => 0;
  const phases = registerPhaseMetrics(ctx.metrics.registry, () => streams());
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
          const clock = phases.clock();
          const send = (r: ExtProcResponse) => {
            clock.answered(r);
            stream.send(r);
          };
          return {
            message(req: ExtProcRequest) {
              clock.received(req);
              if (!exchange) {
                const backend = chainAttemptBackend(req);
                const gw = current();
                const handler = backend === undefined ? routerFor(gw) : new AttemptHandler(gw, backend);
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

  streams = server.activeStreams;
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

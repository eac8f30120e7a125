import type * as protoLoader from '@grpc/proto-loader';
import { extProcPackageDefinition, type ProcessingRequest, type ProcessingResponse } from '../../../protos/ext-proc.js';
import { Exchange, type GatewayContext } from './exchange.js';
import { chainAttemptBackend, UpstreamExchange } from './upstream-exchange.js';
import { startH2GrpcServer } from './h2-grpc.js';

export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';
const PROCESS_PATH = `/${EXT_PROC_SERVICE}/Process`;

/** Large prompts arrive whole in one BUFFERED body message: allow well above the request limit. */
function maxMessageBytes(maxRequestBytes: number): number {
  return Math.max(maxRequestBytes * 2, 64 * 1024 * 1024);
}

export interface ExtProcServer {
  port: number;
  /** Stops taking new streams, lets in-flight ones finish, cuts what is left after `graceMs`. */
  shutdown(graceMs: number): Promise<void>;
  inFlight(): number;
}

export async function startExtProcServer(ctx: GatewayContext, host: string, port: number): Promise<ExtProcServer> {
  const process = (extProcPackageDefinition()[EXT_PROC_SERVICE] as protoLoader.ServiceDefinition).Process!;

  const server = await startH2GrpcServer({
    host,
    port,
    maxMessageBytes: maxMessageBytes(ctx.maxRequestBytes),
    healthServices: [EXT_PROC_SERVICE],
    onError: (err) => ctx.log.debug({ err: err.message }, 'ext_proc transport error'),
    methods: [
      {
        path: PROCESS_PATH,
        decode: (buf) => process.requestDeserialize(buf) as ProcessingRequest,
        encode: (res: ProcessingResponse) => process.responseSerialize(res),
        open(stream) {
          // Router-level streams and per-attempt (upstream filter) streams share the service; only
          // the latter carry the picked endpoint's metadata, which a caller cannot forge.
          let exchange: Exchange | UpstreamExchange | undefined;
          stream.onMessage((req: ProcessingRequest) => {
            if (!exchange) {
              const backend = chainAttemptBackend(req);
              exchange = backend === undefined ? new Exchange(ctx) : new UpstreamExchange(ctx, backend);
            }
            return exchange.handle(req);
          });
          stream.onClose(() => exchange?.close());
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

import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { loadExtProcProto, type ProcessingRequest, type ProcessingResponse } from '../../../protos/ext-proc.js';
import type { Logger } from '../log/logger.js';
import { Exchange, type GatewayContext } from './exchange.js';

export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

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
  const proto = loadExtProcProto();
  const maxBytes = maxMessageBytes(ctx.maxRequestBytes);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
    // Envoy keeps one long-lived HTTP/2 connection per worker; let it ping.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5000,
  });
  let active = 0;

  server.addService(proto.envoy.service.ext_proc.v3.ExternalProcessor.service, {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      active++;
      const exchange = new Exchange(ctx);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        active--;
        exchange.close();
      };
      call.on('data', (req: ProcessingRequest) => {
        call.write(exchange.handle(req));
      });
      call.on('end', () => {
        close();
        call.end();
      });
      call.on('cancelled', close);
      call.on('error', (err) => {
        close();
        ctx.log.debug({ err: err.message }, 'ext_proc stream error');
      });
    },
  });

  const health = new HealthImplementation({ '': 'SERVING', [EXT_PROC_SERVICE]: 'SERVING' });
  health.addToServer(server);

  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });

  return {
    port: bound,
    inFlight: () => active,
    shutdown(graceMs: number) {
      // Tell health checkers first so Envoy stops sending new streams here.
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ctx.log.warn({ inFlight: active }, 'shutdown grace period over; cutting remaining streams');
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

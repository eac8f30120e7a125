/** The HTTP server every simulator runs: body reading, per-request cancellation, listen and close. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './body.js';
import { closeSignal } from './request-context.js';
import { dropHooksNotFor } from './faults.js';
import { spoilResponses } from './wire.js';

export interface HttpServerOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  /** Bodies larger than this reach the handler as `null`, for the provider's own 413 or 400. */
  maxBodyBytes: number;
  /**
   * Called as a request arrives, before its body is read, so arrival times and request numbers
   * follow the order requests came in; returns what answers the request once its body is in.
   * `signal` aborts when the response closes.
   */
  onRequest(req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal): (raw: Buffer | null) => Promise<void>;
  /** Answers a request whose handler threw before the answer started, in the provider's error format. */
  internalError(res: http.ServerResponse, message: string): void;
  /**
   * Which simulator this is (`openai`, `anthropic`, `gemini`, `ollama`, `vllm`), for the
   * `x-sim-only` test hook (faults.ts).
   */
  kind?: string;
}

export interface HttpServer {
  /** Base URL without a path, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** Stops listening and drops open connections, hanging requests included. Idempotent. */
  close(): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    // `x-sim-only` keeps the test hooks for the simulators it names (faults.ts);
    // `x-sim-wire` spoils whatever the simulator answers (wire.ts).
    dropHooksNotFor(req, opts.kind);
    spoilResponses(req, res);
    const signal = closeSignal(res);
    const answer = opts.onRequest(req, res, signal);
    readBody(req, opts.maxBodyBytes, (raw) => {
      answer(raw).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) opts.internalError(res, err instanceof Error ? err.message : String(err));
        else res.destroy();
      });
    });
  });
  // Idle connections stay open far longer than Node's 5 s default, as a provider's do, so
  // clients and proxies keep reusing them (headersTimeout must exceed keepAliveTimeout). No
  // limit on a request's length: paced streams and injected hangs stay open for minutes.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(opts.host)}:${port}`,
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The host to put in a URL for a bind address: IPv6 in brackets, the wildcard as loopback. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
}

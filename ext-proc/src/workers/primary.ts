import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { AggregatorRegistry } from 'prom-client';
import type { EnvConfig } from '../config/env.js';
import { createMemoryLimiter, type Limiter } from '../limits/index.js';
import { flushLogs, type Logger } from '../log/logger.js';
import { startMetricsServer } from '../metering/metrics-server.js';
import type { KvStore } from '../store/kv.js';
import { createMemoryStore } from '../store/memory.js';
import { IPC_REQUEST, serveSharedState, type SharedRequest } from './ipc.js';
import { forwardReload } from '../config/reload/signal.js';

/** A worker that keeps dying is restarted less and less eagerly, up to this delay. */
const MAX_RESTART_DELAY_MS = 5000;

/**
 * The primary process of a multi-worker processor: it forks the workers (each serving ext_proc
 * on the shared gRPC port and, with GRPC_SOCKET_DIR, on a Unix socket of its own), restarts one
 * that dies, serves the workers' metrics aggregated on METRICS_PORT, holds the limiter and cache
 * they share when there is no Redis, and drains them all on SIGTERM/SIGINT. SIGHUP reloads every
 * worker's configuration (each also reloads by itself when the files change).
 */
export async function runPrimary(config: EnvConfig, workers: number, log: Logger): Promise<void> {
  const shared = sharedState(config, log);
  cluster.on('message', (worker: Worker, msg: unknown) => {
    const req = msg as SharedRequest;
    if (req?.type !== IPC_REQUEST || !shared) return;
    void serveSharedState(req, shared).then((reply) => {
      if (worker.isConnected()) worker.send(reply);
    });
  });

  const metrics = await serveAggregatedMetrics(config.METRICS_HOST, config.METRICS_PORT);
  // Workers verify each other's fallback attempts: they share one key, the configured one or ours.
  const routeSecret = config.ROUTE_CONTEXT_SECRET ?? randomBytes(32).toString('hex');
  let stopping = false;
  const restarts = new Map<number, number>();
  const fork = (index: number): Worker => {
    const w = cluster.fork({ PROCESSOR_WORKER_INDEX: String(index), ROUTE_CONTEXT_SECRET: routeSecret });
    w.on('exit', (code, signal) => {
      if (stopping) return;
      const n = (restarts.get(index) ?? 0) + 1;
      restarts.set(index, n);
      const delay = Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** (n - 1));
      log.warn({ worker: index, code, signal, restartInMs: delay }, 'processor worker exited; restarting it');
      setTimeout(() => {
        if (!stopping) fork(index);
      }, delay).unref();
    });
    // A worker that served for a while starts its back-off afresh next time.
    w.on('listening', () => setTimeout(() => restarts.delete(index), 30_000).unref());
    return w;
  };
  for (let i = 0; i < workers; i++) fork(i);
  log.info({ workers, sharedState: shared ? 'primary (in-process, no REDIS_URL)' : 'redis', metricsPort: metrics.port }, 'processor primary started');

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining the workers');
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    let left = alive.length;
    const done = () => {
      metrics.close();
      log.info('stopped');
      flushLogs();
      process.exit(0);
    };
    if (left === 0) return done();
    for (const w of alive) {
      w.once('exit', () => {
        if (--left === 0) done();
      });
      w.process.kill('SIGTERM');
    }
    // A worker that outlives its own grace period is not waited for.
    setTimeout(done, config.SHUTDOWN_GRACE_MS + 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (stopping) return;
    log.info({ workers: forwardReload(Object.values(cluster.workers ?? {})) }, 'SIGHUP: workers reload their configuration');
    flushLogs();
  });
}

function sharedState(config: EnvConfig, log: Logger): { limiter: Limiter; store: KvStore | undefined } | undefined {
  if (config.REDIS_URL) return undefined;
  log.info(
    { maxBytes: config.CACHE_MEMORY_MAX_BYTES },
    'no REDIS_URL: limits and the response cache are held by the primary process and shared by its workers',
  );
  return {
    limiter: createMemoryLimiter(),
    store: config.CACHE_TTL_SECONDS > 0 ? createMemoryStore({ maxBytes: config.CACHE_MEMORY_MAX_BYTES }) : undefined,
  };
}

/** /metrics: every worker's registry, aggregated (counters and histograms summed, gauges as each declares). */
function serveAggregatedMetrics(host: string, port: number): ReturnType<typeof startMetricsServer> {
  const registry = new AggregatorRegistry();
  return startMetricsServer({ contentType: registry.contentType, collect: () => registry.clusterMetrics() }, host, port);
}

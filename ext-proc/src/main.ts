import cluster from 'node:cluster';
import { ConfigError, readEnv } from './config/env.js';
import { startGateway } from './gateway.js';
import { stopOnSignals } from './lifecycle.js';
import { flushLogs, rootLogger as log } from './log/logger.js';
import { workerCount } from './workers/count.js';
import { SharedStateClient } from './workers/ipc.js';
import { runPrimary } from './workers/primary.js';

/** Process entry: one processor, or a primary and its workers; each drains gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = readEnv();
  // Started by a supervisor (npm start) that holds our stdin: when it is gone, so are we.
  if (process.env.EXIT_WITH_PARENT === '1' && cluster.isPrimary) {
    process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
    process.stdin.resume();
  }
  const workers = workerCount(config.PROCESSOR_WORKERS);
  if (cluster.isPrimary && workers > 1) return runPrimary(config, workers, log);
  const index = cluster.isWorker ? Number(process.env.PROCESSOR_WORKER_INDEX ?? 0) : 0;
  const role = cluster.isWorker ? { index, worker: { shared: config.REDIS_URL ? undefined : new SharedStateClient() } } : { index };
  const wlog = cluster.isWorker ? log.child({ worker: index }) : log;
  const gateway = await startGateway(config, process.env, wlog, role);
  stopOnSignals(
    wlog,
    () => gateway.close(),
    () => ({ inFlight: gateway.inFlight() }),
  );
}

main().catch((err: unknown) => {
  // Configuration mistakes get one clear line, not a stack trace.
  const message = err instanceof Error ? err.message : String(err);
  log.fatal({ err: err instanceof ConfigError ? undefined : err }, `processor failed to start: ${message}`);
  flushLogs();
  process.exit(1);
});

import { ConfigError, readEnv } from './config/env.js';
import { startGateway } from './gateway.js';
import { flushLogs, rootLogger as log } from './log/logger.js';

/** Process entry: start, then drain gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = readEnv();
  const gateway = await startGateway(config, process.env, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, inFlight: gateway.inFlight() }, 'draining');
    gateway.close().then(
      () => {
        log.info('stopped');
        flushLogs();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        flushLogs();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Configuration mistakes get one clear line, not a stack trace.
  const message = err instanceof Error ? err.message : String(err);
  log.fatal({ err: err instanceof ConfigError ? undefined : err }, `processor failed to start: ${message}`);
  flushLogs();
  process.exit(1);
});

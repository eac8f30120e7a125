import { ConfigError, readEnv } from './config/env.js';
import { startGateway } from './gateway.js';
import { stopOnSignals } from './lifecycle.js';
import { flushLogs, rootLogger as log } from './log/logger.js';

/** Process entry: start, then drain gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = readEnv();
  const gateway = await startGateway(config, process.env, log);
  stopOnSignals(log, () => gateway.close(), () => ({ inFlight: gateway.inFlight() }));
}

main().catch((err: unknown) => {
  // Configuration mistakes get one clear line, not a stack trace.
  const message = err instanceof Error ? err.message : String(err);
  log.fatal({ err: err instanceof ConfigError ? undefined : err }, `processor failed to start: ${message}`);
  flushLogs();
  process.exit(1);
});

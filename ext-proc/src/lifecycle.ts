import { flushLogs, type Logger } from './log/logger.js';

/**
 * On SIGTERM or SIGINT (once): log, run `stop` (which drains in-flight calls), flush the logs and
 * exit 0, or 1 if stopping failed.
 */
export function stopOnSignals(log: Logger, stop: () => Promise<void>, describe: () => Record<string, unknown> = () => ({})): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, ...describe() }, 'draining in-flight calls');
    stop().then(
      () => {
        log.info('stopped');
        flushLogs();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        flushLogs();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs to stdout. The destination is asynchronous so a burst of log lines never blocks
 * the event loop that is holding Envoy's request; `flushLogs` drains it on shutdown.
 * Credentials stay out by construction: no code path hands headers or request bodies to the
 * logger (a redaction pass would cost every line, on the hot path).
 */
const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });

export const rootLogger: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service: 'llm-gateway-ext-proc' },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  destination,
);

export function flushLogs(): void {
  try {
    destination.flushSync();
  } catch {
    // the destination may not be ready yet (nothing written); nothing to flush
  }
}

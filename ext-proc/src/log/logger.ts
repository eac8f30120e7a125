import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs to stdout. The destination is asynchronous so a burst of log lines never blocks
 * the event loop that is holding Envoy's request; `flushLogs` drains it on shutdown. Warnings
 * and errors are rare and are the lines an operator needs after a crash: each one is written at
 * once, with what was buffered before it.
 * Credentials stay out by construction: no code path hands headers or request bodies to the
 * logger (a redaction pass would cost every line, on the hot path).
 */
const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
const WARN = 40;

export const rootLogger: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service: 'llm-gateway-ext-proc' },
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: {
      logMethod(args, method, level) {
        method.apply(this, args);
        if (level >= WARN) flushLogs();
      },
    },
  },
  destination,
);

export function flushLogs(): void {
  try {
    destination.flushSync();
  } catch {
    // Not ready yet, or a write in progress: let it go out as soon as it can.
    try {
      destination.flush();
    } catch {
      // nothing written yet: nothing to flush
    }
  }
}

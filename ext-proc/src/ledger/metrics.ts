import { Counter, Gauge, type Registry } from 'prom-client';

export interface LedgerMetrics {
  /** `appended`: in the ledger file or the spool; `failed`: refused (spool full, disk error). */
  records: Counter<'result'>;
}

export function registerLedgerMetrics(registry: Registry, backlogBytes?: () => number): LedgerMetrics {
  const records = new Counter({
    name: 'llm_gateway_ledger_records_total',
    help: 'Usage-ledger records handed to the ledger sink, by result (appended / failed).',
    labelNames: ['result'],
    registers: [registry],
  });
  // Both series exist from the start, so a rate() over `failed` is 0 rather than absent.
  records.inc({ result: 'appended' }, 0);
  records.inc({ result: 'failed' }, 0);
  if (backlogBytes) {
    new Gauge({
      name: 'llm_gateway_ledger_backlog_bytes',
      help: 'Ledger records in the spool not yet in the Redis stream, in bytes.',
      registers: [registry],
      collect() {
        this.set(backlogBytes());
      },
    });
  }
  return { records };
}

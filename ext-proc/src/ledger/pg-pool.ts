import pg from 'pg';
import type { Logger } from '../log/logger.js';

export type PgPool = pg.Pool;

/**
 * A small pool for the ledger's queries: a few connections, each statement bounded, and an
 * idle connection that breaks is logged rather than thrown (pg's pools emit it as an error event).
 */
export function openPgPool(url: string, log: Logger, o: { max?: number; statementTimeoutMs?: number } = {}): PgPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: o.max ?? 2,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 3000,
    statement_timeout: o.statementTimeoutMs ?? 15_000,
    application_name: 'llm-gateway',
  });
  pool.on('error', (err) => log.warn({ err: err.message }, 'ledger database connection error'));
  return pool;
}

/** The URL without its password, for logs. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

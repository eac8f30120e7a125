/*
 * `npm run ledger`: the usage-ledger writer. Reads the processors' Redis stream as one consumer
 * of a group (run as many replicas as you like), inserts each batch into PostgreSQL in one
 * transaction (a request id already stored is skipped), acknowledges it after the commit, and
 * takes over entries a dead writer left unacknowledged. Migrates the schema at start.
 *
 * Environment: REDIS_URL and DATABASE_URL (required), LEDGER_STREAM (default llm_gateway:ledger),
 * LEDGER_GROUP (ledger-writers), LEDGER_WRITER_BATCH (500), LEDGER_CLAIM_IDLE_MS (30000),
 * LEDGER_STREAM_RETAIN_MS (600000: acknowledged entries older than this are trimmed), LOG_LEVEL.
 * Stops on SIGTERM / SIGINT after the batch under way.
 */
import { Redis } from 'ioredis';
import { z } from 'zod';
import { LEDGER_ENV } from '../ext-proc/src/ledger/config.js';
import { describeDatabaseUrl, openPgPool } from '../ext-proc/src/ledger/pg-pool.js';
import { LedgerWriter, WRITER_ENV } from '../ext-proc/src/ledger/writer.js';
import { flushLogs, rootLogger } from '../ext-proc/src/log/logger.js';
import { describeRedisUrl } from '../ext-proc/src/store/redis-connection.js';

const EnvSchema = z.object({
  REDIS_URL: z.string().url({ message: 'required: the Redis the processors ship ledger records to' }),
  DATABASE_URL: LEDGER_ENV.DATABASE_URL.unwrap(),
  LEDGER_STREAM: LEDGER_ENV.LEDGER_STREAM,
  ...WRITER_ENV,
});

const STATS_EVERY_MS = 60_000;

async function main(): Promise<void> {
  const log = rootLogger.child({ component: 'ledger-writer' });
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    log.fatal(`ledger writer not started: invalid environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    flushLogs();
    process.exit(2);
  }
  const env = parsed.data;
  const redis = new Redis(env.REDIS_URL, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Above the read's BLOCK time.
    commandTimeout: 10_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
    connectTimeout: 2000,
  });
  redis.on('error', (err: Error) => log.debug({ err: err.message }, 'ledger writer redis connection error'));
  const pool = openPgPool(env.DATABASE_URL, log, { max: 2, statementTimeoutMs: 60_000 });
  const writer = new LedgerWriter(redis, pool, {
    stream: env.LEDGER_STREAM,
    group: env.LEDGER_GROUP,
    batch: env.LEDGER_WRITER_BATCH,
    claimIdleMs: env.LEDGER_CLAIM_IDLE_MS,
    retainMs: env.LEDGER_STREAM_RETAIN_MS,
    log,
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'ledger writer stopping after the batch under way');
    writer.stop();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // The database (or Redis) may still be starting: keep trying.
  for (let attempt = 1; !stopping; attempt++) {
    try {
      if (redis.status !== 'ready') await readyWithin(redis, 2000);
      const applied = await writer.start();
      log.info(
        {
          consumer: writer.consumer,
          stream: env.LEDGER_STREAM,
          group: env.LEDGER_GROUP,
          redis: describeRedisUrl(env.REDIS_URL),
          database: describeDatabaseUrl(env.DATABASE_URL),
          migrated: applied,
        },
        'ledger writer ready',
      );
      flushLogs();
      break;
    } catch (err) {
      log.warn({ attempt, err: err instanceof Error ? err.message : String(err) }, 'ledger writer cannot start yet; retrying');
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * attempt)));
    }
  }

  let last = '';
  const stats = setInterval(() => {
    const now = JSON.stringify(writer.stats);
    if (now !== last) log.info(writer.stats, 'ledger writer totals');
    last = now;
  }, STATS_EVERY_MS).unref();
  if (!stopping) await writer.run();
  clearInterval(stats);
  log.info(writer.stats, 'ledger writer stopped');
  flushLogs();
  redis.disconnect();
  await pool.end().catch(() => undefined);
}

function readyWithin(redis: Redis, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      redis.off('ready', ok);
      reject(new Error(`Redis not reachable (${redis.status})`));
    }, ms);
    const ok = () => {
      clearTimeout(t);
      resolve();
    };
    redis.once('ready', ok);
  });
}

main().catch((err: unknown) => {
  rootLogger.fatal({ err }, `ledger writer failed: ${err instanceof Error ? err.message : String(err)}`);
  flushLogs();
  process.exit(1);
});

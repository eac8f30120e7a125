import path from 'node:path';
import { z } from 'zod';
import { repoRoot } from '../config/paths.js';

/**
 * The usage ledger's environment, part of the processor's (config/env.ts); the ledger writer
 * (`npm run ledger`) reads the same names.
 */
export const LEDGER_ENV = {
  /**
   * One record per LLM call: `on` (default) or `off`. With REDIS_URL and DATABASE_URL both set,
   * records go through the Redis stream LEDGER_STREAM into PostgreSQL (`npm run ledger` writes
   * them); otherwise into the local file LEDGER_FILE.
   */
  LEDGER: z.enum(['on', 'off']).default('on'),
  /** The ledger's folder: the local file and, with Redis, the spool (default data/ledger in the project). */
  LEDGER_DIR: z.string().min(1).optional(),
  /** The local ledger file (default LEDGER_DIR/usage.jsonl). */
  LEDGER_FILE: z.string().min(1).optional(),
  /** PostgreSQL for the ledger (postgres://user:password@host:5432/db). */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(?:ql)?:\/\//, 'a postgres:// or postgresql:// URL')
    .optional(),
  /** The Redis stream records go through. */
  LEDGER_STREAM: z.string().min(1).default('llm_gateway:ledger'),
  /** The stream is capped near this many entries (XADD MAXLEN ~): what may wait for the writer. */
  LEDGER_STREAM_MAXLEN: z.coerce.number().int().min(1000).default(1_000_000),
  /** How often what was appended is fsynced (a power loss loses at most this much; 0: left to the OS). */
  LEDGER_FSYNC_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** How often the spool is shipped to the stream. */
  LEDGER_SHIP_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  /** Records waiting in the spool (Redis unreachable) beyond this are refused, and counted as failed. */
  LEDGER_SPOOL_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024),
};

const LedgerEnvSchema = z.object({ ...LEDGER_ENV, REDIS_URL: z.string().url().optional() });
export type LedgerEnv = z.infer<typeof LedgerEnvSchema>;

/** Where records go, as the configuration says. */
export type LedgerTarget =
  | { kind: 'off' }
  | { kind: 'file'; file: string; fsyncMs: number }
  | {
      kind: 'stream';
      redisUrl: string;
      databaseUrl: string;
      stream: string;
      maxLen: number;
      spoolDir: string;
      fsyncMs: number;
      shipMs: number;
      spoolMaxBytes: number;
    };

export function ledgerDir(c: Pick<LedgerEnv, 'LEDGER_DIR'>): string {
  return path.resolve(c.LEDGER_DIR ?? path.join(repoRoot(), 'data', 'ledger'));
}

export function ledgerFile(c: Pick<LedgerEnv, 'LEDGER_DIR' | 'LEDGER_FILE'>): string {
  return path.resolve(c.LEDGER_FILE ?? path.join(ledgerDir(c), 'usage.jsonl'));
}

export function ledgerTarget(c: LedgerEnv): LedgerTarget {
  if (c.LEDGER === 'off') return { kind: 'off' };
  if (c.REDIS_URL && c.DATABASE_URL) {
    return {
      kind: 'stream',
      redisUrl: c.REDIS_URL,
      databaseUrl: c.DATABASE_URL,
      stream: c.LEDGER_STREAM,
      maxLen: c.LEDGER_STREAM_MAXLEN,
      spoolDir: path.join(ledgerDir(c), 'spool'),
      fsyncMs: c.LEDGER_FSYNC_MS,
      shipMs: c.LEDGER_SHIP_MS,
      spoolMaxBytes: c.LEDGER_SPOOL_MAX_BYTES,
    };
  }
  return { kind: 'file', file: ledgerFile(c), fsyncMs: c.LEDGER_FSYNC_MS };
}

/** Reads the ledger's part of an environment (the writer and the usage CLI); throws one line per problem. */
export function readLedgerEnv(env: NodeJS.ProcessEnv): LedgerEnv {
  const parsed = LedgerEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid environment:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`);
  return parsed.data;
}

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../config/env.js';
import { repoRoot } from '../config/paths.js';
import { ledgerTarget, readLedgerEnv } from './config.js';

const REDIS = 'redis://127.0.0.1:6379';
const DB = 'postgres://ledger:pw@db:5432/ledger';

describe('where ledger records go', () => {
  it('defaults to the local file under data/ledger in the project', () => {
    expect(ledgerTarget(readLedgerEnv({}))).toEqual({ kind: 'file', file: path.join(repoRoot(), 'data', 'ledger', 'usage.jsonl'), fsyncMs: 1000 });
    expect(ledgerTarget(readLedgerEnv({ LEDGER_DIR: 'var/gw', LEDGER_FSYNC_MS: '0' }))).toEqual({
      kind: 'file',
      file: path.resolve('var/gw/usage.jsonl'),
      fsyncMs: 0,
    });
    expect(ledgerTarget(readLedgerEnv({ LEDGER_FILE: '/tmp/x.jsonl', LEDGER_DIR: '/elsewhere' }))).toMatchObject({ file: '/tmp/x.jsonl' });
  });

  it('stays in the file with only one of Redis and PostgreSQL', () => {
    expect(ledgerTarget(readLedgerEnv({ REDIS_URL: REDIS })).kind).toBe('file');
    expect(ledgerTarget(readLedgerEnv({ DATABASE_URL: DB })).kind).toBe('file');
  });

  it('goes through the Redis stream into PostgreSQL with both, spooled under LEDGER_DIR', () => {
    expect(ledgerTarget(readLedgerEnv({ REDIS_URL: REDIS, DATABASE_URL: DB, LEDGER_DIR: '/var/lib/gw' }))).toEqual({
      kind: 'stream',
      redisUrl: REDIS,
      databaseUrl: DB,
      stream: 'llm_gateway:ledger',
      maxLen: 1_000_000,
      spoolDir: '/var/lib/gw/spool',
      fsyncMs: 1000,
      shipMs: 200,
      spoolMaxBytes: 1024 ** 3,
    });
  });

  it('is off with LEDGER=off', () => {
    expect(ledgerTarget(readLedgerEnv({ LEDGER: 'off', REDIS_URL: REDIS, DATABASE_URL: DB }))).toEqual({ kind: 'off' });
  });

  it("is part of the processor's environment, checked at start", () => {
    expect(readEnv({ DATABASE_URL: DB }).DATABASE_URL).toBe(DB);
    expect(() => readEnv({ DATABASE_URL: 'mysql://db/ledger' })).toThrow(/DATABASE_URL: a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => readEnv({ LEDGER: 'maybe' })).toThrow(/LEDGER/);
    expect(() => readEnv({ LEDGER_STREAM_MAXLEN: '10' })).toThrow(/LEDGER_STREAM_MAXLEN/);
  });
});

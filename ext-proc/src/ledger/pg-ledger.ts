import type pg from 'pg';
import { LEDGER_FIELDS, type LedgerRecord } from './record.js';
import { emptyBucket, sortBuckets, type GroupBy, type UsageBucket, type UsageQuery } from './usage-query.js';

/*
 * The ledger's tables in PostgreSQL (migrations/): batch inserts for the writer, and the usage
 * query the processor and `npm run usage` ask.
 */

/** Each column's array type for unnest(): one parameter per column, whatever the batch size. */
const COLUMN_TYPES: Record<(typeof LEDGER_FIELDS)[number], string> = {
  request_id: 'text',
  ts: 'timestamptz',
  tenant: 'text',
  key_id: 'text',
  requested_model: 'text',
  model: 'text',
  provider: 'text',
  tier: 'text',
  stream: 'boolean',
  input_tokens: 'integer',
  output_tokens: 'integer',
  cached_input_tokens: 'integer',
  reasoning_tokens: 'integer',
  cost_usd: 'numeric',
  saved_usd: 'numeric',
  cache: 'text',
  status: 'smallint',
  latency_ms: 'double precision',
  ttft_ms: 'double precision',
  attempts: 'smallint',
  route_reason: 'text',
  aborted: 'boolean',
  usage_estimated: 'boolean',
};

const INSERT_SQL = `INSERT INTO usage_ledger (${LEDGER_FIELDS.join(', ')})
SELECT * FROM unnest(${LEDGER_FIELDS.map((f, i) => `$${i + 1}::${COLUMN_TYPES[f]}[]`).join(', ')})
ON CONFLICT (request_id) DO NOTHING`;

/** Inserts records (a request id already stored is skipped); returns how many rows were new. */
export async function insertRecords(client: pg.ClientBase, records: readonly LedgerRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  const columns = LEDGER_FIELDS.map((f) => records.map((r) => r[f]));
  const res = await client.query(INSERT_SQL, columns);
  return res.rowCount ?? 0;
}

/** Stream entries that are not records, kept for a look (the payload cut to 4 KiB). */
export async function insertRejects(client: pg.ClientBase, rejects: ReadonlyArray<{ id: string; payload: string; reason: string }>): Promise<void> {
  if (rejects.length === 0) return;
  await client.query(
    `INSERT INTO usage_ledger_rejects (stream_id, payload, reason)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (stream_id) DO NOTHING`,
    [rejects.map((r) => r.id), rejects.map((r) => r.payload.slice(0, 4096)), rejects.map((r) => r.reason.slice(0, 500))],
  );
}

const GROUP_SQL: Record<GroupBy, string> = {
  day: `to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  model: 'model',
  provider: 'provider',
  key: 'key_id',
};

interface BucketRow {
  key: string;
  requests: string;
  errors: string;
  aborted: string;
  cache_hits: string;
  input_tokens: string;
  output_tokens: string;
  cached_input_tokens: string;
  reasoning_tokens: string;
  cost_usd: string;
  saved_usd: string;
}

/** A tenant's usage over a range, grouped (the same answer the file gives). */
export async function pgUsage(client: Pick<pg.ClientBase, 'query'>, q: UsageQuery): Promise<UsageBucket[]> {
  const { rows } = await client.query<BucketRow>(
    `SELECT ${GROUP_SQL[q.groupBy]} AS key,
            count(*) AS requests,
            count(*) FILTER (WHERE status >= 400) AS errors,
            count(*) FILTER (WHERE aborted) AS aborted,
            count(*) FILTER (WHERE cache = 'hit') AS cache_hits,
            coalesce(sum(input_tokens), 0) AS input_tokens,
            coalesce(sum(output_tokens), 0) AS output_tokens,
            coalesce(sum(cached_input_tokens), 0) AS cached_input_tokens,
            coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
            coalesce(sum(cost_usd), 0) AS cost_usd,
            coalesce(sum(saved_usd), 0) AS saved_usd
       FROM usage_ledger
      WHERE tenant = $1 AND ts >= $2 AND ts < $3
      GROUP BY 1`,
    [q.tenant, q.from.toISOString(), q.to.toISOString()],
  );
  return sortBuckets(
    rows.map((r) => {
      const b = emptyBucket(r.key);
      for (const k of Object.keys(b) as Array<keyof UsageBucket>) if (k !== 'key') b[k] = Number(r[k]);
      return b;
    }),
    q.groupBy,
  );
}

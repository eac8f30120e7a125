/*
 * `npm run usage -- --tenant T [--from D] [--to D] [--group-by day|model|provider|key] [--csv]`:
 * a tenant's usage from the ledger, the same figures `GET /v1/usage` answers, as a table (with
 * totals) or CSV. Reads PostgreSQL when DATABASE_URL is set, else the local ledger file
 * (LEDGER_FILE, default LEDGER_DIR/usage.jsonl); --file reads a given file.
 * Exit status: 0 done, 1 failed, 2 usage error.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { GatewayError } from '../ext-proc/src/errors.js';
import { ledgerFile, readLedgerEnv } from '../ext-proc/src/ledger/config.js';
import { fileUsage } from '../ext-proc/src/ledger/file-usage.js';
import { pgUsage } from '../ext-proc/src/ledger/pg-ledger.js';
import { openPgPool } from '../ext-proc/src/ledger/pg-pool.js';
import { BUCKET_TOTALS, groupKeyName, parseUsageParams, totalsOf, type UsageBucket, type UsageQuery } from '../ext-proc/src/ledger/usage-query.js';
import { rootLogger } from '../ext-proc/src/log/logger.js';

export interface Output {
  write(chunk: string): unknown;
}

const USAGE = `usage: npm run usage -- --tenant T [--from D] [--to D] [--group-by day|model|provider|key] [--csv] [--file F]

  --tenant     the tenant (required)
  --from, --to a date (2025-06-01, UTC) or an RFC 3339 time; a date in --to counts its whole day
               (default: the 30 days up to now)
  --group-by   day (default), model, provider or key
  --csv        CSV instead of a table (no totals row)
  --file       read this ledger file instead of PostgreSQL / LEDGER_FILE

Reads PostgreSQL when DATABASE_URL is set, else LEDGER_FILE (default LEDGER_DIR/usage.jsonl).
`;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, out: Output, err: Output = process.stderr, now = new Date()): Promise<number> {
  let values: { tenant?: string; from?: string; to?: string; 'group-by'?: string; csv?: boolean; file?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        tenant: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'group-by': { type: 'string' },
        csv: { type: 'boolean', default: false },
        file: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    err.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  if (!values.tenant) {
    err.write(`--tenant is required\n${USAGE}`);
    return 2;
  }
  let q: UsageQuery;
  try {
    q = parseUsageParams({ from: values.from, to: values.to, group_by: values['group-by'] }, values.tenant, now, {
      from: '--from',
      to: '--to',
      group_by: '--group-by',
    });
  } catch (e) {
    err.write(`${e instanceof GatewayError ? e.message : String(e)}\n`);
    return 2;
  }
  try {
    const buckets = await query(q, env, values.file);
    out.write(values.csv ? csv(q, buckets) : table(q, buckets));
    return 0;
  } catch (e) {
    err.write(`usage query failed: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

async function query(q: UsageQuery, env: NodeJS.ProcessEnv, file: string | undefined): Promise<UsageBucket[]> {
  const c = readLedgerEnv(env);
  if (file || !c.DATABASE_URL) return (await fileUsage(path.resolve(file ?? ledgerFile(c)), q)).buckets;
  const pool = openPgPool(c.DATABASE_URL, rootLogger, { max: 1 });
  try {
    return await pgUsage(pool, q);
  } finally {
    await pool.end();
  }
}

const COLUMNS = BUCKET_TOTALS;

function cell(k: (typeof COLUMNS)[number], v: number): string {
  return k === 'cost_usd' || k === 'saved_usd' ? v.toFixed(6) : String(v);
}

/** A plain-text table, numbers right-aligned, with a totals row. */
export function table(q: UsageQuery, buckets: UsageBucket[]): string {
  const head = [groupKeyName(q.groupBy), ...COLUMNS];
  const rows = buckets.map((b) => [b.key, ...COLUMNS.map((k) => cell(k, b[k]))]);
  const t = totalsOf(buckets);
  rows.push(['total', ...COLUMNS.map((k) => cell(k, t[k]))]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const title = `usage of tenant ${q.tenant} from ${q.from.toISOString()} to ${q.to.toISOString()} by ${q.groupBy}`;
  return `${title}\n${line(head)}\n${rule}\n${rows.slice(0, -1).map(line).join('\n')}${rows.length > 1 ? '\n' : ''}${rule}\n${line(rows.at(-1)!)}\n`;
}

/** RFC 4180 CSV, one row per group. */
export function csv(q: UsageQuery, buckets: UsageBucket[]): string {
  const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const lines = [[groupKeyName(q.groupBy), ...COLUMNS].join(',')];
  for (const b of buckets) lines.push([quote(b.key), ...COLUMNS.map((k) => String(b[k]))].join(','));
  return `${lines.join('\r\n')}\r\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2), process.env, process.stdout).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}

import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { LedgerRecordSchema } from './record.js';
import { UsageAccumulator, type UsageBucket, type UsageQuery } from './usage-query.js';

/**
 * A tenant's usage from the local ledger file: one pass over it, records of other tenants
 * skipped before they are parsed. A line that does not read as a record (a line torn by a power
 * loss) is skipped and counted.
 */
export async function fileUsage(file: string, q: UsageQuery): Promise<{ buckets: UsageBucket[]; skipped: number }> {
  const acc = new UsageAccumulator(q);
  let skipped = 0;
  if (!existsSync(file)) return { buckets: [], skipped };
  // Records are written with this exact field text, so most lines of other tenants stop here.
  const mark = `"tenant":${JSON.stringify(q.tenant)},`;
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.includes(mark)) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    const r = LedgerRecordSchema.safeParse(json);
    if (!r.success) {
      skipped++;
      continue;
    }
    if (acc.matches(r.data)) acc.add(r.data);
  }
  return { buckets: acc.buckets(), skipped };
}

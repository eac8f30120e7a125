import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';

const BATCH_FILE = /^batch-([a-z0-9]+)\.jsonl$/;

/** The independently written batches of a data set folder: `batch-<name>.jsonl`, sorted by name. */
export function batchFiles(dir: string): Array<{ name: string; file: string }> {
  return readdirSync(dir)
    .filter((f) => BATCH_FILE.test(f))
    .sort()
    .map((f) => ({ name: BATCH_FILE.exec(f)![1]!, file: path.join(dir, f) }));
}

/**
 * Parses a JSONL data set of examples with ids against their schema; throws naming file:line on
 * the first bad line or duplicate id. Blank lines are skipped.
 */
export function parseJsonl<S extends z.ZodType<{ id: string }>>(text: string, source: string, schema: S): Array<z.infer<S>> {
  const out: Array<z.infer<S>> = [];
  const ids = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new Error(`${source}:${i + 1}: invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new Error(`${source}:${i + 1}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid example'}`);
    }
    if (ids.has(r.data.id)) throw new Error(`${source}:${i + 1}: duplicate id "${r.data.id}"`);
    ids.add(r.data.id);
    out.push(r.data);
  });
  return out;
}

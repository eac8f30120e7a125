/**
 * The labelled routing data: independently written batches (`models/classifier/batches/
 * batch-<name>.jsonl`, one author each, see LABELLING.md) and the project's first, single-author
 * set (`train.jsonl` + `eval.jsonl`), which is only ever trained on, never scored: its author's
 * style is not independent of anything.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { batchFiles } from '../util/jsonl.js';
import { parseDataset } from './train.js';
import type { LabelledExample } from './train.js';

export interface Batch {
  name: string;
  /** Path relative to the data directory's parent, for messages. */
  source: string;
  examples: LabelledExample[];
}

/** Every batch file of `dir`, sorted by name; each item must name its file's batch, ids are unique across batches. */
export function loadBatches(dir: string): Batch[] {
  const seen = new Map<string, string>();
  return batchFiles(dir).map(({ name, file }) => {
    const source = path.join(path.basename(dir), path.basename(file));
    const examples = parseDataset(readFileSync(file, 'utf8'), source);
    examples.forEach((ex, i) => {
      if (ex.batch !== name) throw new Error(`${source}:${i + 1}: item ${ex.id} says batch ${JSON.stringify(ex.batch)}, the file is batch ${name}`);
      const other = seen.get(ex.id);
      if (other) throw new Error(`${source}:${i + 1}: id ${ex.id} is also in ${other}`);
      seen.set(ex.id, source);
    });
    return { name, source, examples };
  });
}

/** The single-author set, when present (training only). */
export function loadLegacy(dir: string): LabelledExample[] {
  const out: LabelledExample[] = [];
  for (const f of ['train.jsonl', 'eval.jsonl']) {
    let text: string;
    try {
      text = readFileSync(path.join(dir, f), 'utf8');
    } catch {
      continue;
    }
    out.push(...parseDataset(text, f));
  }
  return out;
}

/** The language group a report shows: English, Spanish, or the rest. */
export function languageGroup(lang: LabelledExample['lang']): 'en' | 'es' | 'other' {
  return lang === 'en' || lang === 'es' ? lang : 'other';
}

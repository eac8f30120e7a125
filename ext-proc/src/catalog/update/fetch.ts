/** The text of a source document: a local file, or an http(s) URL fetched once. */
import { readFile } from 'node:fs/promises';
import { SourceError } from './source.js';

/** LiteLLM's map is a few MB; anything far larger is not what was meant. */
const MAX_BYTES = 64 * 1024 * 1024;
const TIMEOUT_MS = 60_000;

export async function readSourceText(from: string, fetchImpl: typeof fetch = fetch): Promise<string> {
  if (!/^https?:\/\//i.test(from)) {
    try {
      return await readFile(from, 'utf8');
    } catch (err) {
      throw new SourceError(`${from}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let res: Response;
  try {
    res = await fetchImpl(from, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch (err) {
    throw new SourceError(`${from}: cannot fetch: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!res.ok) throw new SourceError(`${from}: HTTP ${res.status} ${res.statusText}`.trimEnd());
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > MAX_BYTES) throw new SourceError(`${from}: ${length} bytes is more than a model list should be (${MAX_BYTES})`);
  const text = await res.text();
  if (text.length > MAX_BYTES) throw new SourceError(`${from}: more than ${MAX_BYTES} bytes`);
  return text;
}

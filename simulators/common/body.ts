/** Request bodies: read with a size limit, then parsed as JSON when they are JSON. */
import type http from 'node:http';

/**
 * Reads the whole body and hands it to `onEnd`; `null` once it passes `maxBytes`. A body that
 * is too large is still read to its end (and dropped), so the simulator can answer it.
 */
export function readBody(req: http.IncomingMessage, maxBytes: number, onEnd: (raw: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (c: Buffer) => {
    if (tooLarge) return;
    size += c.length;
    if (size > maxBytes) {
      tooLarge = true;
      chunks.length = 0;
      return;
    }
    chunks.push(c);
  });
  req.on('error', () => {
    // The client went away; the response's close event ends the work.
  });
  req.on('end', () => {
    onEnd(tooLarge ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
  });
}

export interface ParsedBody {
  /** The JSON value; the text when it is not JSON; undefined when the body is empty or too large. */
  body: unknown;
  /** Whether the body parsed as JSON (false for an empty one). */
  jsonOk: boolean;
}

export function parseJsonBody(raw: Buffer | null): ParsedBody {
  if (raw === null || raw.length === 0) return { body: undefined, jsonOk: false };
  const text = raw.toString('utf8');
  try {
    return { body: JSON.parse(text) as unknown, jsonOk: true };
  } catch {
    return { body: text, jsonOk: false };
  }
}

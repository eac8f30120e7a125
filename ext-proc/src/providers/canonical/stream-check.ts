/*
 * Cheap checks of a stream's events, for answers that pass between ends of the same API without
 * being re-encoded: each complete event (an SSE event, an NDJSON line) is looked at by its first
 * and last significant characters, and parsed only when it may be the stream's last.
 */

/**
 * What one complete event of a stream is: `pass` (an event like any other), `last` (the stream's
 * own end: its finish, or an error the provider reports in it), `bad` (not an event of the API:
 * its data is not a JSON object).
 */
export type StreamEventCheck = 'pass' | 'last' | 'bad';

/** How a format's stream is cut into events: SSE events end with a blank line, NDJSON lines with a newline. */
export type StreamFraming = 'sse' | 'ndjson';

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/** Whether `text` is framed as a JSON object (`{` first and `}` last, white space aside), without parsing it. */
export function framedAsObject(text: string): boolean {
  let i = 0;
  let j = text.length - 1;
  while (i < j && isSpace(text.charCodeAt(i))) i++;
  while (j > i && isSpace(text.charCodeAt(j))) j--;
  return i < j && text.charCodeAt(i) === 123 && text.charCodeAt(j) === 125;
}

/** The text parsed as a JSON object, or undefined when it is not one. */
export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An SSE event's data (its `data:` lines joined by newlines) and name (its `event:` line); data
 * undefined when it has none (a comment, a keep-alive). Undefined when the text is not an SSE
 * event at all: a line that is no SSE field (`data`, `event`, `id`, `retry`) nor a comment.
 */
export function readSseEvent(event: string): { data: string | undefined; name: string | undefined } | undefined {
  const nl = event.indexOf('\n');
  // The usual events: one data line, or a named one (`event:` then one `data:` line).
  if (nl < 0 && event.startsWith('data: ')) return { data: event.slice(6), name: undefined };
  if (nl > 0 && event.startsWith('event:') && event.startsWith('data: ', nl + 1) && event.indexOf('\n', nl + 1) < 0) {
    return { data: event.slice(nl + 7), name: event.slice(6, event.charCodeAt(nl - 1) === 13 ? nl - 1 : nl).trim() };
  }
  let data: string | undefined;
  let name: string | undefined;
  for (const raw of event.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('data:')) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? value : `${data}\n${value}`;
    } else if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (!(line === '' || line.startsWith(':') || line.startsWith('id:') || line.startsWith('retry:'))) return undefined;
  }
  return { data, name };
}

/** A provider's error object inside a stream event: `{"error": ...}` at the top level. */
export function isErrorEvent(data: string): boolean {
  if (!data.includes('"error"')) return false;
  const o = parseObject(data);
  return o !== undefined && 'error' in o && o.error !== null && o.error !== undefined;
}

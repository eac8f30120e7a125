/**
 * Wire faults: the `x-sim-wire` request header makes any simulator spoil the answer it would
 * have sent, at the HTTP level, the way a broken provider or a proxy in front of one does. The
 * simulator answers as usual (its good path is untouched); the answer is held back, spoiled and
 * then sent. It combines with `x-sim-fail`: `x-sim-fail: 503` with `x-sim-wire: html` is a 503
 * whose body is a proxy's HTML page.
 *
 *   x-sim-wire: truncate    about half the body, with a content-length that matches it (or the
 *                           chunked end), ended cleanly: truncated JSON, or a stream that stops
 *                           early (often inside an event) without its last events
 *   x-sim-wire: garbage     a JSON answer's body replaced by bytes that are not JSON; a stream
 *                           gets one corrupt event (data that is not JSON, named as the event it
 *                           precedes when the stream names its events) after its first one,
 *                           then goes on as usual
 *   x-sim-wire: html        the body replaced by an HTML error page labelled text/html, status kept
 *                           (a 200 is then the wrong content type altogether)
 *   x-sim-wire: mislabel    the body unchanged, labelled text/plain
 *   x-sim-wire: empty       status and headers kept, no body at all (content-length: 0)
 *   x-sim-wire: slowloris   the answer unchanged, dripped a few bytes at a time (DRIP_BYTES every
 *                           DRIP_INTERVAL_MS): events and JSON arrive split at every position
 *   x-sim-wire: cut         the head and about half the body, then, CUT_PAUSE_MS later (so the
 *                           head has surely travelled on), the connection destroyed: a reset
 *                           mid-body that does not race the head (x-sim-fail: midstream may)
 *
 * Any other value is ignored. A request the simulator resets (`x-sim-fail: reset`, `midstream`)
 * is reset as before; a client that leaves stops the delivery.
 */
import type http from 'node:http';
import { headerValue } from './headers.js';

export const WIRE_FAULTS = ['truncate', 'garbage', 'html', 'mislabel', 'empty', 'slowloris', 'cut'] as const;
export type WireFault = (typeof WIRE_FAULTS)[number];

/** Slowloris pace: this many bytes per write... */
export const DRIP_BYTES = 7;
/** ...every this many milliseconds. */
export const DRIP_INTERVAL_MS = 4;

/** How long `cut` waits between the half body and the reset. */
export const CUT_PAUSE_MS = 1000;

/** Bytes no JSON parser takes: a NUL, bytes that are not UTF-8, and a broken object. */
export const GARBAGE_BODY = Buffer.concat([Buffer.from('{"id": \u0000'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from(' ]]}{ not json')]);

export const HTML_PAGE =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

export function parseWireHeader(value: string | undefined): WireFault | undefined {
  const v = value?.trim().toLowerCase();
  return (WIRE_FAULTS as readonly string[]).includes(v ?? '') ? (v as WireFault) : undefined;
}

type HeaderMap = Record<string, string | number | readonly string[]>;

/** The head and body the simulator meant to send. */
export interface HeldAnswer {
  status: number;
  headers: HeaderMap;
  body: Buffer;
}

/** What is sent instead: a head, the body, and whether it is dripped or cut off after it. */
export interface SpoiledAnswer extends HeldAnswer {
  drip: boolean;
  /** Destroy the connection CUT_PAUSE_MS after the body, instead of ending the answer. */
  reset?: boolean;
}

function headerGet(h: HeaderMap, name: string): string | undefined {
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : String(v);
  return undefined;
}

function headerSet(h: HeaderMap, name: string, value: string | undefined): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() !== name) out[k] = v;
  if (value !== undefined) out[name] = value;
  return out;
}

/** A stream's framing from its content type: SSE events end with a blank line, NDJSON lines with a newline. */
function streamKind(contentType: string | undefined): 'sse' | 'ndjson' | undefined {
  const ct = contentType?.toLowerCase() ?? '';
  if (ct.startsWith('text/event-stream')) return 'sse';
  if (ct.startsWith('application/x-ndjson')) return 'ndjson';
  return undefined;
}

/** Where the first event (or line) of a stream ends, just after its terminator; -1 if it never does. */
function firstEventEnd(body: Buffer, kind: 'sse' | 'ndjson'): number {
  if (kind === 'ndjson') {
    const i = body.indexOf('\n');
    return i < 0 ? -1 : i + 1;
  }
  const crlf = body.indexOf('\r\n\r\n');
  const lf = body.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 4;
  return lf < 0 ? -1 : lf + 2;
}

/** The answer as the fault spoils it. Pure: the HTTP side is in `spoilResponses`. */
export function spoil(fault: WireFault, answer: HeldAnswer): SpoiledAnswer {
  const { status, headers, body } = answer;
  const contentType = headerGet(headers, 'content-type');
  const framed = headerGet(headers, 'content-length') !== undefined;
  const stream = streamKind(contentType);
  const withBody = (b: Buffer, h: HeaderMap = headers): SpoiledAnswer => ({
    status,
    headers: framed || b.length === 0 ? headerSet(h, 'content-length', String(b.length)) : h,
    body: b,
    drip: false,
  });
  switch (fault) {
    case 'truncate':
      return withBody(body.subarray(0, Math.floor(body.length / 2)));
    case 'garbage': {
      if (stream === undefined) return withBody(GARBAGE_BODY);
      const at = firstEventEnd(body, stream);
      const cut = at < 0 ? body.length : at;
      const nl = stream === 'sse' && body.includes('\r\n') ? '\r\n' : '\n';
      // Named as the event it stands before (Anthropic names every event), so it cannot pass for an unknown one.
      const named = /^event: *([^\r\n]+)/.exec(body.subarray(cut, cut + 200).toString('utf8'))?.[1];
      const bad =
        stream === 'sse' ? `${named ? `event: ${named}${nl}` : ''}data: {"choices":[{"delta":{"content":"gar${nl}${nl}` : '{"message":{"content":"gar\n';
      return withBody(Buffer.concat([body.subarray(0, cut), Buffer.from(bad), body.subarray(cut)]));
    }
    case 'html':
      return withBody(Buffer.from(HTML_PAGE), headerSet(headerSet(headers, 'content-length', undefined), 'content-type', 'text/html; charset=utf-8'));
    case 'mislabel':
      return withBody(body, headerSet(headers, 'content-type', 'text/plain; charset=utf-8'));
    case 'empty':
      return withBody(Buffer.alloc(0), headerSet(headers, 'content-length', '0'));
    case 'slowloris':
      return { ...withBody(body), drip: true };
    case 'cut':
      // The head still announces the whole body (its length, or chunks that never end).
      return { status, headers, body: body.subarray(0, Math.floor(body.length / 2)), drip: false, reset: true };
  }
}

type WriteCallback = (err?: Error | null) => void;

function toBuffer(chunk: unknown, encoding?: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  return Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
}

/**
 * Applies the request's `x-sim-wire` fault, if any, to whatever the simulator answers: its head,
 * writes and end are held, then the spoiled answer goes out. Call before the simulator answers.
 */
export function spoilResponses(req: http.IncomingMessage, res: http.ServerResponse): WireFault | undefined {
  const fault = parseWireHeader(headerValue(req, 'x-sim-wire'));
  if (fault === undefined) return undefined;
  const writeHead = res.writeHead.bind(res);
  const write = res.write.bind(res) as (chunk: Buffer) => boolean;
  const end = res.end.bind(res) as (cb?: () => void) => http.ServerResponse;
  let status = 200;
  let headers: HeaderMap = {};
  const chunks: Buffer[] = [];
  let ended = false;

  res.writeHead = ((code: number, ...rest: unknown[]) => {
    status = code;
    const h = rest.find((x) => typeof x === 'object' && x !== null);
    if (Array.isArray(h)) {
      for (let i = 0; i + 1 < h.length; i += 2) headers[String(h[i])] = String(h[i + 1]);
    } else if (h) headers = { ...headers, ...(h as HeaderMap) };
    return res;
  }) as typeof res.writeHead;
  res.flushHeaders = () => undefined;
  res.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
    chunks.push(toBuffer(chunk, encoding));
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') (done as WriteCallback)();
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: unknown, encoding?: unknown, cb?: unknown) => {
    if (ended) return res;
    ended = true;
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') chunks.push(toBuffer(chunk, encoding));
    if (res.destroyed) return res;
    const out = spoil(fault, { status, headers, body: Buffer.concat(chunks) });
    writeHead(out.status, out.headers as http.OutgoingHttpHeaders);
    if (out.reset) {
      write(out.body);
      setTimeout(() => res.destroy(), CUT_PAUSE_MS);
    } else if (!out.drip) {
      if (out.body.length > 0) write(out.body);
      end();
    } else {
      let at = 0;
      const step = (): void => {
        if (res.destroyed) return;
        if (at >= out.body.length) {
          end();
          return;
        }
        write(out.body.subarray(at, at + DRIP_BYTES));
        at += DRIP_BYTES;
        setTimeout(step, DRIP_INTERVAL_MS);
      };
      step();
    }
    const done = [chunk, encoding, cb].find((x) => typeof x === 'function');
    if (typeof done === 'function') (done as () => void)();
    return res;
  }) as typeof res.end;
  return fault;
}

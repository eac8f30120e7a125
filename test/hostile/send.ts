/*
 * Sends a case as raw bytes over its own TCP connection and reads the answer with a small
 * HTTP/1.1 parser, so a case can say exactly what goes on the wire (odd paths, duplicate
 * headers, a content-length that lies) and a hang is a measured timeout, not a stuck test.
 */
import net from 'node:net';
import type { HostileRequest } from './types.js';

export interface WireResponse {
  /** 0 when no status line arrived. */
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** The answer did not arrive whole within the timeout. */
  timedOut: boolean;
  /** The connection failed (reset) before the answer was whole. */
  reset: boolean;
  /** The connection closed before the framed body was complete. */
  incomplete: boolean;
  /** Time to the end of the answer (or to the timeout). */
  ms: number;
}

export function encodeRequest(req: HostileRequest, host: string): Buffer {
  if (req.raw) return Buffer.from(req.raw.toString('latin1').replaceAll('{{host}}', host), 'latin1');
  const body = req.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  const framing = req.framing ?? (req.body === undefined ? { kind: 'none' as const } : { kind: 'length' as const });
  const lines = [`${req.method} ${req.path} HTTP/1.1`, `host: ${host}`, 'connection: close', ...req.headers.map(([k, v]) => `${k}: ${v}`)];
  let payload = body;
  if (framing.kind === 'length') lines.push(`content-length: ${body.length}`);
  else if (framing.kind === 'chunked') {
    lines.push('transfer-encoding: chunked');
    const size = framing.chunkBytes ?? Math.max(1, body.length);
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += size) {
      const piece = body.subarray(i, i + size);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    payload = Buffer.concat(parts);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The body's framing was satisfied. */
  complete: boolean;
}

/** Parses what arrived; 1xx heads (100 Continue) are skipped. */
export function parseResponse(buf: Buffer, closed: boolean): Parsed | undefined {
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) return undefined;
    const head = buf.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const k = line.slice(0, colon).trim().toLowerCase();
      const v = line.slice(colon + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    at = end + 4;
    if (status >= 100 && status < 200) continue;
    const rest = buf.subarray(at);
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let p = 0;
      for (;;) {
        const eol = rest.indexOf('\r\n', p);
        if (eol < 0) return { status, headers, body: Buffer.concat(parts), complete: false };
        const size = Number.parseInt(rest.subarray(p, eol).toString('latin1'), 16);
        if (!Number.isFinite(size)) return { status, headers, body: Buffer.concat(parts), complete: false };
        if (size === 0) return { status, headers, body: Buffer.concat(parts), complete: true };
        const start = eol + 2;
        if (rest.length < start + size) {
          parts.push(rest.subarray(start));
          return { status, headers, body: Buffer.concat(parts), complete: false };
        }
        parts.push(rest.subarray(start, start + size));
        p = start + size + 2;
      }
    }
    const length = headers['content-length'];
    if (length !== undefined) {
      const n = Number(length);
      return { status, headers, body: rest.subarray(0, n), complete: rest.length >= n };
    }
    return { status, headers, body: rest, complete: closed };
  }
}

/** Sends `req` to host:port and resolves with whatever came back within `timeoutMs`. */
export function send(port: number, req: HostileRequest, timeoutMs: number): Promise<WireResponse> {
  const host = `127.0.0.1:${port}`;
  const started = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    let reset = false;
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parseResponse(Buffer.concat(chunks), true);
      resolve({
        status: parsed?.status ?? 0,
        headers: parsed?.headers ?? {},
        body: parsed?.body ?? Buffer.alloc(0),
        timedOut,
        reset,
        incomplete: parsed !== undefined && !parsed.complete,
        ms: Math.round(performance.now() - started),
      });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // Done as soon as the framed answer is whole, whether or not the server closes.
      const parsed = parseResponse(Buffer.concat(chunks), false);
      if (parsed?.complete) finish(false);
    });
    socket.on('error', () => {
      reset = true;
      finish(false);
    });
    socket.on('end', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', () => {
      // A write error (the server closed early on an oversize body) is the answer's business.
      socket.write(encodeRequest(req, host), () => undefined);
    });
  });
}

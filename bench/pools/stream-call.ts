/**
 * One streaming chat call, timed: time to the first SSE event carrying text (TTFT) and to the
 * end of the stream, both from a start time the caller gives (the request's scheduled arrival,
 * so time spent waiting to be sent counts too).
 */
import http from 'node:http';

export interface CallResult {
  status: number;
  /** A 200 stream that ended with `data: [DONE]`. */
  ok: boolean;
  ttftMs: number | undefined;
  e2eMs: number;
  error?: string;
}

export function streamCall(agent: http.Agent, endpoint: string, path: string, body: Buffer, startedAt: number, timeoutMs: number): Promise<CallResult> {
  const colon = endpoint.lastIndexOf(':');
  const hostname = endpoint.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(endpoint.slice(colon + 1));
  return new Promise((resolve) => {
    let settled = false;
    let ttftMs: number | undefined;
    const settle = (r: Omit<CallResult, 'ttftMs' | 'e2eMs'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...r, ttftMs, e2eMs: performance.now() - startedAt });
    };
    const req = http.request(
      { agent, hostname, port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } },
      (res) => {
        const status = res.statusCode ?? 0;
        let tail = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          // The first event that carries a piece of the answer; the role-only opener may share its write.
          if (ttftMs === undefined && /"content":"[^"]/.test(chunk)) ttftMs = performance.now() - startedAt;
          tail = (tail + chunk).slice(-64);
        });
        res.on('error', (err) => settle({ status, ok: false, error: err.message }));
        res.on('end', () => settle({ status, ok: status === 200 && tail.trimEnd().endsWith('data: [DONE]') }));
      },
    );
    req.setTimeout(timeoutMs, () => {
      settle({ status: 0, ok: false, error: 'timeout' });
      req.destroy();
    });
    req.on('error', (err) => settle({ status: 0, ok: false, error: err.message }));
    req.end(body);
  });
}

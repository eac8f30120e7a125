import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, urlHost, type HttpServer } from './http.js';
import { jsonResponder } from './respond.js';

const json = jsonResponder();
let server: HttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('startHttpServer', () => {
  it('numbers requests in arrival order and answers once the body is in', async () => {
    let n = 0;
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      onRequest: (req, res) => {
        const seq = ++n;
        return async (raw) => json.send(res, 200, { seq, method: req.method, body: raw?.toString() ?? null });
      },
      internalError: () => {},
    });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const a = await (await fetch(`${server.url}/x`, { method: 'POST', body: 'hi' })).json();
    const b = await (await fetch(`${server.url}/x`, { method: 'POST', body: 'x'.repeat(2048) })).json();
    expect(a).toEqual({ seq: 1, method: 'POST', body: 'hi' });
    expect(b).toEqual({ seq: 2, method: 'POST', body: null });
  });

  it("answers a handler that throws with the provider's internal error", async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      onRequest: () => async () => {
        throw new Error('boom');
      },
      internalError: (res, message) => json.send(res, 500, { oops: message }),
    });
    const res = await fetch(server.url);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ oops: 'boom' });
  });

  it('drops the connection when a handler throws after the answer started', async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      onRequest: (_req, res) => async () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        throw new Error('late');
      },
      internalError: () => {
        throw new Error('not expected');
      },
    });
    const res = await fetch(server.url);
    await expect(res.text()).rejects.toThrow();
  });

  it("aborts the request's signal when the client leaves", async () => {
    let signal: AbortSignal | undefined;
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      onRequest: (_req, _res, s) => {
        signal = s;
        return async () => {};
      },
      internalError: () => {},
    });
    const client = http.get(server.url);
    client.on('error', () => {});
    while (signal === undefined) await new Promise((r) => setTimeout(r, 5));
    const aborted = new Promise((r) => signal!.addEventListener('abort', r));
    client.destroy();
    await aborted;
    expect(signal.aborted).toBe(true);
  });

  it('close() ends hanging requests and can be called again', async () => {
    const s = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      onRequest: () => async () => {},
      internalError: () => {},
    });
    const hanging = fetch(s.url).then(
      () => 'answered',
      () => 'dropped',
    );
    await new Promise((r) => setTimeout(r, 50));
    const closing = s.close();
    expect(s.close()).toBe(closing);
    await closing;
    expect(await hanging).toBe('dropped');
  });

  it('reports a port already in use', async () => {
    server = await startHttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 1, onRequest: () => async () => {}, internalError: () => {} });
    await expect(
      startHttpServer({ host: '127.0.0.1', port: server.port, maxBodyBytes: 1, onRequest: () => async () => {}, internalError: () => {} }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('urlHost', () => {
  it('brackets IPv6 and reaches the wildcard address on loopback', () => {
    expect(urlHost('::1')).toBe('[::1]');
    expect(urlHost('0.0.0.0')).toBe('127.0.0.1');
    expect(urlHost('localhost')).toBe('localhost');
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonResponder, startStream } from './respond.js';

let server: http.Server | undefined;

afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

async function serve(handler: (res: http.ServerResponse) => void): Promise<string> {
  server = http.createServer((_req, res) => handler(res));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('jsonResponder', () => {
  it("sends JSON with its length, the given headers and the provider's content type", async () => {
    const url = await serve((res) => jsonResponder({ contentType: 'application/json; charset=UTF-8' }).send(res, 201, { a: 'é' }, { 'x-extra': '1' }));
    const res = await fetch(url);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength('{"a":"é"}')));
    expect(res.headers.get('x-extra')).toBe('1');
    expect(await res.json()).toEqual({ a: 'é' });
  });

  it("puts the answer's own headers before or after the content headers, as asked", async () => {
    const order = async (extraHeaders?: 'before' | 'after'): Promise<string[]> => {
      const url = await serve((res) => jsonResponder(extraHeaders ? { extraHeaders } : {}).send(res, 429, {}, { 'retry-after': '1' }));
      const names = await new Promise<string[]>((resolve) => {
        http.get(url, (res) => {
          res.resume();
          resolve(res.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()));
        });
      });
      server?.closeAllConnections();
      server?.close();
      return names.filter((n) => ['retry-after', 'content-type', 'content-length'].includes(n));
    };
    expect(await order()).toEqual(['retry-after', 'content-type', 'content-length']);
    expect(await order('after')).toEqual(['content-type', 'content-length', 'retry-after']);
  });

  it('sends nothing once an answer has started', async () => {
    const url = await serve((res) => {
      res.writeHead(202, { 'content-type': 'text/plain' });
      jsonResponder().send(res, 500, { error: 'x' });
      res.end('first');
    });
    const res = await fetch(url);
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('first');
  });

  it('sendHalf announces the whole body, sends half, and drops the connection', async () => {
    const payload = { text: 'a'.repeat(100) };
    const full = JSON.stringify(payload);
    const url = await serve((res) => jsonResponder().sendHalf(res, payload));
    const received = await new Promise<{ status: number; length: string | undefined; body: string; error: boolean }>((resolve) => {
      http.get(url, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('error', () => {});
        res.on('close', () => resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'], body, error: !res.complete }));
      });
    });
    expect(received.status).toBe(200);
    expect(received.length).toBe(String(full.length));
    expect(received.body).toBe(full.slice(0, Math.floor(full.length / 2)));
    expect(received.error).toBe(true);
  });
});

describe('startStream', () => {
  it('sends the head at once, uncached, before any chunk', async () => {
    const url = await serve((res) => startStream(res, 'text/event-stream', { 'x-request-id': 'r1' }));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-request-id')).toBe('r1');
    await res.body?.cancel();
  });
});

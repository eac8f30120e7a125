import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseJsonBody, readBody } from './body.js';

async function post(body: string, maxBytes: number): Promise<Buffer | null> {
  let resolveRaw!: (raw: Buffer | null) => void;
  const got = new Promise<Buffer | null>((r) => (resolveRaw = r));
  const server = http.createServer((req, res) => {
    readBody(req, maxBytes, (raw) => {
      resolveRaw(raw);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body });
    await res.arrayBuffer();
    return await got;
  } finally {
    server.close();
  }
}

describe('readBody', () => {
  it('hands over the whole body', async () => {
    const text = 'y'.repeat(200_000);
    const raw = await post(text, 1 << 20);
    expect(raw?.toString()).toBe(text);
  });

  it('hands over an empty body as an empty buffer', async () => {
    expect((await post('', 10))?.length).toBe(0);
  });

  it('gives null for a body over the limit, still reading it to the end so it can be answered', async () => {
    expect(await post('z'.repeat(11), 10)).toBeNull();
    expect((await post('z'.repeat(10), 10))?.length).toBe(10);
  });
});

describe('parseJsonBody', () => {
  it('parses JSON', () => {
    expect(parseJsonBody(Buffer.from('{"a":[1,2]}'))).toEqual({ body: { a: [1, 2] }, jsonOk: true });
  });

  it('keeps text that is not JSON, marked as such', () => {
    expect(parseJsonBody(Buffer.from('{nope'))).toEqual({ body: '{nope', jsonOk: false });
  });

  it('has no body for an empty or too large one', () => {
    expect(parseJsonBody(Buffer.alloc(0))).toEqual({ body: undefined, jsonOk: false });
    expect(parseJsonBody(null)).toEqual({ body: undefined, jsonOk: false });
  });
});

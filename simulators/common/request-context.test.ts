import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closeSignal, nextTurn, pause, sleep, sleepUntil, write } from './request-context.js';

describe('sleep', () => {
  it('waits the time given', async () => {
    const t0 = performance.now();
    await sleep(30, new AbortController().signal);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
  });

  it('ends at once when the request closes meanwhile', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const waiting = sleep(10_000, ac.signal);
    setTimeout(() => ac.abort(), 10);
    await waiting;
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it('does not wait for a closed request, nor for no time', async () => {
    const ac = new AbortController();
    ac.abort();
    const t0 = performance.now();
    await sleep(10_000, ac.signal);
    await sleep(0, new AbortController().signal);
    await sleep(-5, new AbortController().signal);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('sleepUntil waits until a point on the performance clock', async () => {
    const at = performance.now() + 30;
    await sleepUntil(at, new AbortController().signal);
    expect(performance.now()).toBeGreaterThanOrEqual(at - 5);
  });
});

describe('pause', () => {
  it('tells whether the client is still there afterwards', async () => {
    expect(await pause(1, new AbortController().signal)).toBe(true);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 5);
    expect(await pause(10_000, ac.signal)).toBe(false);
  });
});

describe('nextTurn', () => {
  it('lets queued callbacks run first', async () => {
    let ran = false;
    setImmediate(() => (ran = true));
    await nextTurn();
    expect(ran).toBe(true);
  });

  it('with a signal of a closed request, returns without waiting a turn', async () => {
    const ac = new AbortController();
    ac.abort();
    let ran = false;
    setImmediate(() => (ran = true));
    await nextTurn(ac.signal);
    expect(ran).toBe(false);
  });
});

/** A server whose single request's response and signal the test gets. */
async function oneRequest(): Promise<{
  res: http.ServerResponse;
  signal: AbortSignal;
  client: http.ClientRequest;
  received: Promise<http.IncomingMessage>;
  close: () => void;
}> {
  let resolveRes!: (v: { res: http.ServerResponse; signal: AbortSignal }) => void;
  const got = new Promise<{ res: http.ServerResponse; signal: AbortSignal }>((r) => (resolveRes = r));
  const server = http.createServer((_req, res) => resolveRes({ res, signal: closeSignal(res) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const client = http.get({ host: '127.0.0.1', port, path: '/' });
  const received = new Promise<http.IncomingMessage>((r) => client.once('response', r));
  client.on('error', () => {});
  const { res, signal } = await got;
  return {
    res,
    signal,
    client,
    received,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('closeSignal and write', () => {
  it('aborts once the client goes away', async () => {
    const { signal, client, close } = await oneRequest();
    expect(signal.aborted).toBe(false);
    const aborted = new Promise((r) => signal.addEventListener('abort', r));
    client.destroy();
    await aborted;
    expect(signal.aborted).toBe(true);
    close();
  });

  it('writes while the client is there, and reports false once it is gone', async () => {
    const { res, signal, client, received, close } = await oneRequest();
    res.writeHead(200, { 'content-type': 'text/plain' });
    expect(await write(res, signal, 'hello')).toBe(true);
    const incoming = await received;
    const first = await new Promise<string>((r) => incoming.once('data', (c: Buffer) => r(c.toString())));
    expect(first).toBe('hello');
    const aborted = new Promise((r) => signal.addEventListener('abort', r));
    client.destroy();
    await aborted;
    expect(await write(res, signal, 'late')).toBe(false);
    close();
  });

  it('stops waiting for a full socket to drain when the client leaves', async () => {
    const { res, signal, client, received, close } = await oneRequest();
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.flushHeaders();
    const incoming = await received;
    incoming.pause(); // the client reads nothing, so the socket fills up
    const big = 'x'.repeat(1 << 20);
    let ok = true;
    for (let i = 0; i < 64 && ok; i++) {
      const pending = write(res, signal, big);
      const settled = await Promise.race([pending, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 50))]);
      if (settled === 'waiting') {
        client.destroy();
        ok = await pending;
      }
    }
    expect(ok).toBe(false);
    close();
  });
});

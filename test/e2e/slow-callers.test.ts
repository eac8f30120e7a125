/*
 * End to end: what a slow or greedy caller can hold. A request that announces more body than it
 * sends is answered 408 as soon as the receive timeout passes (not after the 300 s a quiet
 * answer may take), and past the connection cap Envoy refuses new connections while the ones it
 * holds keep working.
 */
import net from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

const KEY = 'gw-key-slow-callers-01';
const RECEIVE_TIMEOUT_S = 2;
const MAX_CONNECTIONS = 12;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: `slow:${KEY}`, CACHE_TTL_SECONDS: '0' },
    log: pino({ level: 'silent' }),
    requestReceiveTimeoutS: RECEIVE_TIMEOUT_S,
    maxConnections: MAX_CONNECTIONS,
  });
});

afterAll(async () => {
  await stack?.close(500);
});

const port = () => Number(new URL(stack.gatewayUrl).port);

/** Sends `raw` on a fresh connection; resolves with what came back and when the socket closed. */
function rawExchange(raw: string, giveUpMs: number): Promise<{ text: string; ms: number; closed: boolean }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = net.connect(port(), '127.0.0.1', () => sock.write(raw));
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text, ms: Date.now() - started, closed });
    };
    const timer = setTimeout(() => done(false), giveUpMs);
    sock.on('data', (d) => (text += d.toString('utf8')));
    sock.on('close', () => done(true));
    sock.on('error', () => undefined);
  });
}

/** Opens a connection; resolves once it is accepted and stays open for `settleMs`, or with 'refused'. */
function hold(settleMs: number): Promise<net.Socket | 'refused'> {
  return new Promise((resolve) => {
    const sock = net.connect(port(), '127.0.0.1');
    let settled = false;
    const finish = (v: net.Socket | 'refused') => {
      if (settled) return;
      settled = true;
      resolve(v);
    };
    sock.on('connect', () => setTimeout(() => finish(sock.destroyed ? 'refused' : sock), settleMs));
    sock.on('close', () => finish('refused'));
    sock.on('error', () => finish('refused'));
  });
}

async function envoyStat(name: string): Promise<number> {
  const text = await (await fetch(`${stack.adminUrl}/stats?filter=${encodeURIComponent(name)}`)).text();
  return text
    .split('\n')
    .filter((l) => l.includes(name))
    .reduce((sum, l) => sum + Number(l.split(':')[1] ?? 0), 0);
}

describe('slow and greedy callers', () => {
  const shortBodies = [
    {
      api: 'openai',
      path: '/v1/chat/completions',
      error: (b: any) => expect(b.error).toMatchObject({ type: 'invalid_request_error', code: 'request_timeout' }),
    },
    { api: 'anthropic', path: '/v1/messages', error: (b: any) => expect(b).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } }) },
    {
      api: 'gemini',
      path: '/v1beta/models/gemini-2.5-flash-lite:generateContent',
      error: (b: any) => expect(b.error).toMatchObject({ code: 408, status: 'DEADLINE_EXCEEDED' }),
    },
    { api: 'ollama', path: '/api/chat', error: (b: any) => expect(typeof b.error).toBe('string') },
  ];

  it.each(shortBodies)('$api: a body shorter than its content-length gets a 408 in the caller API once the receive timeout passes', async (c) => {
    const head = [
      `POST ${c.path} HTTP/1.1`,
      'host: gateway',
      `authorization: Bearer ${KEY}`,
      `x-api-key: ${KEY}`,
      'content-type: application/json',
      'content-length: 5000',
      '',
      '',
    ].join('\r\n');
    const r = await rawExchange(`${head}{"model":"gpt-4o-mini","mess`, 20_000);
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.ms).toBeGreaterThanOrEqual(RECEIVE_TIMEOUT_S * 1000 - 100);
    expect(r.ms).toBeLessThan(RECEIVE_TIMEOUT_S * 1000 + 3000);
    const [headers, body] = r.text.split('\r\n\r\n', 2) as [string, string];
    expect(headers).toMatch(/content-type: application\/json/i);
    const parsed = JSON.parse(body);
    c.error(parsed);
    expect(body).toContain('not received in time');
  });

  it('past the connection cap new connections are refused, and those held keep working', async () => {
    const held: net.Socket[] = [];
    let refused = 0;
    try {
      for (let i = 0; i < MAX_CONNECTIONS + 3; i++) {
        const s = await hold(150);
        if (s === 'refused') refused++;
        else held.push(s);
      }
      expect(held.length).toBeLessThanOrEqual(MAX_CONNECTIONS);
      expect(refused).toBeGreaterThanOrEqual(3);
      expect(await envoyStat('downstream_global_cx_overflow')).toBeGreaterThanOrEqual(3);
      // A connection Envoy holds still serves a call.
      const sock = held[0]!;
      const answer = new Promise<string>((resolve) => {
        let text = '';
        sock.on('data', (d) => {
          text += d.toString('utf8');
          if (text.includes('\r\n\r\n')) resolve(text);
        });
      });
      sock.write('GET /healthz HTTP/1.1\r\nhost: gateway\r\n\r\n');
      expect(await answer).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const s of held) s.destroy();
    }
    // Once released, new connections are accepted again.
    await new Promise((r) => setTimeout(r, 300));
    const again = await hold(100);
    expect(again).not.toBe('refused');
    if (again !== 'refused') again.destroy();
  });
});

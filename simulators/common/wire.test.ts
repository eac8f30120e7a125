import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, type HttpServer } from './http.js';
import { DRIP_BYTES, GARBAGE_BODY, HTML_PAGE, parseWireHeader, spoil, WIRE_FAULTS } from './wire.js';

const JSON_BODY = JSON.stringify({ id: 'x', choices: [{ message: { content: 'hello world' } }] });
const SSE_BODY = 'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n';

describe('parseWireHeader', () => {
  it('reads every fault, in any case, and nothing else', () => {
    for (const f of WIRE_FAULTS) expect(parseWireHeader(` ${f.toUpperCase()} `)).toBe(f);
    for (const v of [undefined, '', 'reset', 'hang', '503', 'garbage2']) expect(parseWireHeader(v)).toBeUndefined();
  });
});

describe('spoil', () => {
  const json = { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(JSON_BODY.length) }, body: Buffer.from(JSON_BODY) };
  const sse = { status: 200, headers: { 'content-type': 'text/event-stream' }, body: Buffer.from(SSE_BODY) };

  it('truncate: half the body, with a matching length, and it is no longer JSON', () => {
    const out = spoil('truncate', json);
    expect(out.body.length).toBe(Math.floor(JSON_BODY.length / 2));
    expect(out.headers['content-length']).toBe(String(out.body.length));
    expect(() => JSON.parse(out.body.toString())).toThrow();
  });

  it('garbage: a JSON body becomes bytes no parser takes; a stream gets one corrupt event after its first', () => {
    expect(spoil('garbage', json).body).toEqual(GARBAGE_BODY);
    const events = spoil('garbage', sse).body.toString().split('\n\n');
    expect(events[0]).toBe('data: {"a":1}');
    expect(() => JSON.parse(events[1]!.slice('data: '.length))).toThrow();
    expect(events.slice(2)).toEqual(['data: {"a":2}', 'data: [DONE]', '']);
  });

  it('garbage keeps a CRLF stream in CRLF and an NDJSON stream in lines', () => {
    const crlf = spoil('garbage', { ...sse, body: Buffer.from('data: {"a":1}\r\n\r\ndata: {"a":2}\r\n\r\n') }).body.toString();
    expect(crlf.split('\r\n\r\n')).toHaveLength(4);
    const nd = spoil('garbage', { status: 200, headers: { 'content-type': 'application/x-ndjson' }, body: Buffer.from('{"a":1}\n{"a":2}\n') });
    expect(nd.body.toString().split('\n')).toHaveLength(4);
  });

  it('html keeps the status and labels the page; mislabel keeps the body; empty keeps the head', () => {
    const html = spoil('html', { ...json, status: 503 });
    expect(html.status).toBe(503);
    expect(html.body.toString()).toBe(HTML_PAGE);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(spoil('mislabel', json).body.toString()).toBe(JSON_BODY);
    expect(spoil('mislabel', json).headers['content-type']).toMatch(/^text\/plain/);
    expect(spoil('empty', json)).toMatchObject({ status: 200, headers: { 'content-length': '0' } });
    expect(spoil('empty', json).body.length).toBe(0);
  });
});

describe('spoilResponses on a live server', () => {
  let server: HttpServer;
  beforeAll(async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      onRequest: (req, res) => async () => {
        if (req.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.flushHeaders();
          for (const e of SSE_BODY.split(/(?<=\n\n)/)) res.write(e);
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(JSON_BODY.length) });
        res.end(JSON_BODY);
      },
      internalError: () => undefined,
    });
  });
  afterAll(() => server.close());

  const get = (path: string, wire?: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; chunks: number }>((resolve, reject) => {
      const req = http.get(`${server.url}${path}`, { headers: wire ? { 'x-sim-wire': wire } : {} }, (res) => {
        let body = '';
        let chunks = 0;
        res.on('data', (c: Buffer) => {
          chunks++;
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, chunks }));
      });
      req.on('error', reject);
    });

  it('without the header the answer is untouched', async () => {
    expect((await get('/')).body).toBe(JSON_BODY);
  });

  it('truncates a whole answer cleanly (no reset)', async () => {
    const r = await get('/', 'truncate');
    expect(r.body).toBe(JSON_BODY.slice(0, Math.floor(JSON_BODY.length / 2)));
    expect(r.headers['content-length']).toBe(String(r.body.length));
  });

  it('drips a stream in small pieces, all of it', async () => {
    const r = await get('/stream', 'slowloris');
    expect(r.body).toBe(SSE_BODY);
    expect(r.chunks).toBeGreaterThanOrEqual(Math.floor(SSE_BODY.length / DRIP_BYTES / 2));
  });

  it('cuts an answer: half of it, then a reset', async () => {
    const r = await new Promise<{ body: string; error: boolean }>((resolve) => {
      let body = '';
      const req = http.get(`${server.url}/`, { headers: { 'x-sim-wire': 'cut' } }, (res) => {
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('error', () => resolve({ body, error: true }));
        res.on('end', () => resolve({ body, error: false }));
      });
      req.on('error', () => resolve({ body, error: true }));
    });
    expect(r).toEqual({ body: JSON_BODY.slice(0, Math.floor(JSON_BODY.length / 2)), error: true });
  });

  it('sends an empty 200', async () => {
    const r = await get('/', 'empty');
    expect(r).toMatchObject({ status: 200, body: '' });
  });
});

describe('garbage in a stream of named events', () => {
  it('is named as the event it stands before, so it cannot pass for an unknown event type', () => {
    const body = 'event: message_start\ndata: {"type":"message_start"}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta"}\n\n';
    const out = spoil('garbage', { status: 200, headers: { 'content-type': 'text/event-stream' }, body: Buffer.from(body) }).body.toString();
    const events = out.split('\n\n');
    expect(events[1]).toMatch(/^event: content_block_delta\ndata: \{/);
    expect(() => JSON.parse(events[1]!.split('\ndata: ')[1]!)).toThrow();
  });
});

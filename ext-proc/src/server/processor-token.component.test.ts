/**
 * With PROCESSOR_TOKEN set, only a peer that sends it (Envoy, configured with it as gRPC initial
 * metadata) can open a processing stream: the processor hands provider credentials to whoever
 * holds one. Health checks stay open (Envoy's health checker sends no metadata).
 */
import http2 from 'node:http2';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from '../../../test/helpers/ext-proc-peer.js';
import { EXT_PROC_SERVICE, PROCESSOR_TOKEN_HEADER } from '../contract.js';
import { readEnv } from '../config/env.js';
import { startGateway, type Gateway } from '../gateway.js';

const TOKEN = 'processor-token-0123456789';
let gateway: Gateway;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = {
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    GATEWAY_KEYS: 'auth:gw-key-token-test-1',
    OPENAI_API_KEY: 'k',
    PROCESSOR_TOKEN: TOKEN,
    LOG_LEVEL: 'silent',
  };
  gateway = await startGateway(readEnv(env), env, pino({ level: 'silent' }));
  session = http2.connect(`http://127.0.0.1:${gateway.grpcPort}`);
});

afterAll(async () => {
  session?.close();
  await gateway?.close(500);
});

/** Opens a Process stream with these headers, sends a model-list request, returns grpc-status and the bytes received. */
function open(extra: Record<string, string>): Promise<{ status: string | undefined; bytes: number }> {
  return new Promise((resolve) => {
    const s = session.request({ ':method': 'POST', ':path': `/${EXT_PROC_SERVICE}/Process`, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    let bytes = 0;
    let status: string | undefined;
    s.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
    s.on('trailers', (t) => (status = t['grpc-status'] as string));
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      s.end();
    });
    s.on('close', () => resolve({ status, bytes }));
    const msg = encodeRequest({
      kind: 'request_headers',
      endOfStream: true,
      headers: { ':method': 'GET', ':path': '/v1/models', authorization: 'Bearer gw-key-token-test-1' },
    });
    const framed = Buffer.alloc(5 + msg.length);
    framed.writeUInt32BE(msg.length, 1);
    msg.copy(framed, 5);
    s.write(framed);
  });
}

describe('processor token', () => {
  it('refuses a stream without the token, or with a wrong one, before reading anything', async () => {
    expect(await open({})).toEqual({ status: '16', bytes: 0 });
    expect(await open({ [PROCESSOR_TOKEN_HEADER]: 'processor-token-0123456788' })).toEqual({ status: '16', bytes: 0 });
  });

  it('serves a stream that carries it', async () => {
    const r = await open({ [PROCESSOR_TOKEN_HEADER]: TOKEN });
    expect(r.status).toBe('0');
    expect(r.bytes).toBeGreaterThan(0);
  });
});

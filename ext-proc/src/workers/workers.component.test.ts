/**
 * The processor with several workers (dist/ext-proc/src/main.js, built by the set-up `npm test`
 * runs first): each worker on its own Unix socket, limits and the cache shared through the
 * primary when there is no Redis, metrics of all workers on one port, a killed worker restarted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyPeer, GATEWAY_PROTOCOL } from '../../../test/helpers/ext-proc-peer.js';
import { freePort } from '../../../scripts/lib/ports.js';
import { repoRoot } from '../config/paths.js';
import { workerSocketPath } from './count.js';

const KEY = 'gw-key-workers-0001';
const RPM = 3;
let child: ChildProcess;
let dir: string;
let metricsPort: number;
let logs = '';

beforeAll(async () => {
  const entry = path.join(repoRoot(), 'dist', 'ext-proc', 'src', 'main.js');
  expect(existsSync(entry), 'dist is built by `node scripts/setup.mjs` (npm test runs it first)').toBe(true);
  dir = mkdtempSync(path.join(os.tmpdir(), 'gw-workers-'));
  const tenants = path.join(dir, 'tenants.yaml');
  writeFileSync(tenants, `tenants:\n  limited: { limits: { rpm: ${RPM} } }\n`);
  metricsPort = await freePort();
  child = spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH,
      PROCESSOR_WORKERS: '2',
      GRPC_PORT: String(await freePort()),
      GRPC_SOCKET_DIR: path.join(dir, 'sock'),
      METRICS_PORT: String(metricsPort),
      GATEWAY_KEYS: `limited:${KEY}`,
      OPENAI_API_KEY: 'test-provider-key',
      TENANTS_PATH: tenants,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!(existsSync(socket(0)) && existsSync(socket(1)))) {
    if (Date.now() > deadline) throw new Error(`workers not listening:\n${logs}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

const socket = (i: number) => workerSocketPath(path.join(dir, 'sock'), i);
const connect = (i: number) => http2.connect('http://localhost', { createConnection: () => net.connect(socket(i)) });

async function call(session: http2.ClientHttp2Session): Promise<number> {
  const peer = new EnvoyPeer(session);
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  peer.send(
    {
      kind: 'request_headers',
      protocol: GATEWAY_PROTOCOL,
      headers: { ':method': 'POST', ':path': '/v1/chat/completions', authorization: `Bearer ${KEY}`, 'content-length': String(body.length) },
    },
    { kind: 'request_body', body, endOfStream: true },
  );
  const [first] = await peer.next(1);
  peer.end();
  return first!.kind === 'immediate' ? first!.immediate!.status : 200;
}

describe('several workers', () => {
  it('each worker serves on its own socket, and a rate limit holds across them', async () => {
    const sessions = [connect(0), connect(1)];
    try {
      const statuses: number[] = [];
      for (let i = 0; i < RPM + 2; i++) statuses.push(await call(sessions[i % 2]!));
      expect(statuses.filter((s) => s === 200)).toHaveLength(RPM);
      expect(statuses.slice(RPM)).toEqual([429, 429]);
    } finally {
      for (const s of sessions) s.close();
    }
  });

  it("serves every worker's metrics, added up, on one port", async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('llm_gateway_limit_rejections_total{') && l.includes('tenant="limited"'));
    expect(line, text.slice(0, 2000)).toBeDefined();
    expect(Number(line!.split(' ').pop())).toBe(2);
  });

  it('restarts a worker that dies', async () => {
    const pids = [...logs.matchAll(/"worker":1,"pid":(\d+)[^\n]*processor listening/g)].map((m) => Number(m[1]));
    expect(pids.length, logs.slice(0, 3000)).toBeGreaterThan(0);
    process.kill(pids.at(-1)!, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while ([...logs.matchAll(/"worker":1[^\n]*processor listening/g)].length < 2) {
      if (Date.now() > deadline) throw new Error(`worker 1 not restarted:\n${logs.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(logs).toContain('processor worker exited; restarting it');
    const s = connect(1);
    try {
      // Limited by now, but answered: the restarted worker serves its socket again.
      expect(await call(s)).toBe(429);
    } finally {
      s.close();
    }
  });
});

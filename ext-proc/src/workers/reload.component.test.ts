/**
 * Hot reload with several workers (dist/ext-proc/src/main.js, built by the set-up `npm test` runs
 * first): SIGHUP to the primary reloads every worker, and a file change is seen by every worker's
 * own watcher; a refused file is refused by each, and no worker dies of any of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/lib/ports.js';
import { metricValue } from '../../../test/helpers/prom.js';
import { repoRoot } from '../config/paths.js';
import { workerSocketPath } from './count.js';

let child: ChildProcess;
let dir: string;
let tenants: string;
let metricsPort: number;
let logs = '';

beforeAll(async () => {
  const entry = path.join(repoRoot(), 'dist', 'ext-proc', 'src', 'main.js');
  expect(existsSync(entry), 'dist is built by `node scripts/setup.mjs` (npm test runs it first)').toBe(true);
  dir = mkdtempSync(path.join(os.tmpdir(), 'gw-workers-reload-'));
  tenants = path.join(dir, 'tenants.yaml');
  writeFileSync(tenants, 'tenants:\n  acme: { limits: { rpm: 10 } }\n');
  metricsPort = await freePort();
  child = spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH,
      PROCESSOR_WORKERS: '2',
      GRPC_PORT: String(await freePort()),
      GRPC_SOCKET_DIR: path.join(dir, 'sock'),
      METRICS_PORT: String(metricsPort),
      GATEWAY_KEYS: 'acme:gw-key-workers-reload',
      OPENAI_API_KEY: 'test-provider-key',
      TENANTS_PATH: tenants,
      GUARD_MODE: 'off',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  await until('both workers listening', async () => [0, 1].every((i) => existsSync(workerSocketPath(path.join(dir, 'sock'), i))) && (await scrape()) !== '');
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

async function scrape(): Promise<string> {
  return fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
    (r) => (r.ok ? r.text() : ''),
    () => '',
  );
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (child.exitCode !== null) throw new Error(`the processor exited while waiting for ${what}:\n${logs}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${logs}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const reloads = async (result: 'ok' | 'failed') => metricValue(await scrape(), 'llm_gateway_config_reloads_total', { result });
const logged = (msg: string) =>
  logs
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}`))
    .map((l) => JSON.parse(l) as { worker?: number; msg: string; problems?: string[] });

describe('configuration reload with several workers', () => {
  it('SIGHUP to the primary reloads every worker', async () => {
    expect(await reloads('ok')).toBe(0);
    child.kill('SIGHUP');
    await until('both workers reloaded', async () => (await reloads('ok')) === 2);
    expect(
      logged('configuration reloaded')
        .map((l) => l.worker)
        .sort(),
    ).toEqual([0, 1]);
    expect(logged('SIGHUP: workers reload their configuration')).toHaveLength(1);
    expect(child.exitCode).toBeNull();
    expect(logs).not.toContain('processor worker exited');
  });

  it('an invalid tenants file is refused by each worker, which says where, and keeps serving', async () => {
    writeFileSync(tenants, 'tenants:\n  acme: { limits: { rpm: 0 } }\n');
    await until('both workers refused the file', async () => (await reloads('failed')) === 2);
    const failures = logged('configuration reload failed, previous configuration kept');
    expect(failures.map((l) => l.worker).sort()).toEqual([0, 1]);
    for (const f of failures) expect(f.problems).toEqual([`${tenants}:2:26: tenant acme: limits.rpm: expected number > 0, got number 0`]);
    // SIGHUP reads the files again: still invalid, still refused, and nobody dies.
    child.kill('SIGHUP');
    await until('the second refusal', async () => (await reloads('failed')) === 4);
    expect(await reloads('ok')).toBe(2);
    expect(child.exitCode).toBeNull();
    expect(logs).not.toContain('processor worker exited');
  });
});

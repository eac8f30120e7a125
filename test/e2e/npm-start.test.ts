/*
 * `npm start`'s stack process (dist/scripts/stack.js, built by the set-up that `npm test` runs
 * first): prints `ready`, serves a call with the printed demo key, and on SIGTERM lets an
 * in-flight stream finish before everything stops.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { freePort } from '../../scripts/lib/ports.js';

it('starts in demo mode, prints ready and a key, reloads on SIGHUP, and drains a stream on SIGTERM', async () => {
  const entry = path.join(repoRoot(), 'dist', 'scripts', 'stack.js');
  expect(existsSync(entry), 'dist is built by `node scripts/setup.mjs` (npm test runs it first)').toBe(true);
  const [gatewayPort, adminPort, grpcPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GATEWAY_PORT: String(gatewayPort),
    ENVOY_ADMIN_PORT: String(adminPort),
    GRPC_PORT: String(grpcPort),
    METRICS_PORT: String(metricsPort),
    SIM_TOKENS_PER_SECOND: '200',
    SHUTDOWN_GRACE_MS: '10000',
  };
  if (process.env.ENVOY_BIN) env.ENVOY_BIN = process.env.ENVOY_BIN;
  const child = spawn(process.execPath, [entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    for (let i = 0; i < 300 && !/ready/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(/ready on http:\/\/127\.0\.0\.1:\d+/);
    const key = /demo gateway key: (\S+)/.exec(out)?.[1];
    expect(key).toBeTruthy();

    // SIGHUP reaches the processor's workers: each reloads its configuration (counted once per worker).
    const reloads = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(/^llm_gateway_config_reloads_total\{result="ok"\} (\d+)/m.exec(text)?.[1] ?? Number.NaN);
    };
    const before = await reloads();
    expect(before).not.toBeNaN();
    child.kill('SIGHUP');
    let after = before;
    for (let i = 0; i < 100 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await reloads();
    }
    expect(after).toBeGreaterThan(before);

    // 400 tokens at 200 tokens/s: a stream of about two seconds.
    const res = await fetch(`http://127.0.0.1:${gatewayPort}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'go [sim:tokens=400]' }] }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    child.kill('SIGTERM');
    let body = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += new TextDecoder().decode(value);
    }
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(body).toContain('"finish_reason":"stop"');
    expect(await exited).toBe(0);
    // Nothing listens any more.
    await expect(fetch(`http://127.0.0.1:${gatewayPort}/healthz`)).rejects.toThrow();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 60_000);

it('refuses to start on ports another gateway holds, and leaves nothing behind when killed outright', async () => {
  const entry = path.join(repoRoot(), 'dist', 'scripts', 'stack.js');
  const [gatewayPort, adminPort, grpcPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GATEWAY_PORT: String(gatewayPort),
    ENVOY_ADMIN_PORT: String(adminPort),
    GRPC_PORT: String(grpcPort),
    METRICS_PORT: String(metricsPort),
  };
  if (process.env.ENVOY_BIN) env.ENVOY_BIN = process.env.ENVOY_BIN;
  const start = () => {
    const child = spawn(process.execPath, [entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const state = { out: '' };
    child.stdout.on('data', (d: Buffer) => (state.out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (state.out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, state, exited };
  };
  const first = start();
  try {
    for (let i = 0; i < 300 && !/ready/.test(first.state.out); i++) await new Promise((r) => setTimeout(r, 50));
    expect(first.state.out).toMatch(/ready on/);

    const second = start();
    expect(await second.exited).not.toBe(0);
    expect(second.state.out).toMatch(/port \d+ \(GATEWAY_PORT\) is in use/);
    expect(second.state.out).not.toMatch(/ready on/);

    // SIGKILL gives the stack no chance to stop its children: they must go by themselves.
    first.child.kill('SIGKILL');
    await first.exited;
    const deadline = Date.now() + 10_000;
    let up = true;
    while (up && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      up = await fetch(`http://127.0.0.1:${gatewayPort}/healthz`).then(
        () => true,
        () => false,
      );
    }
    expect(up).toBe(false);
    // ... and a new stack can take the ports again.
    const third = start();
    for (let i = 0; i < 300 && !/ready/.test(third.state.out); i++) await new Promise((r) => setTimeout(r, 50));
    expect(third.state.out).toMatch(/ready on/);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  } finally {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
  }
}, 90_000);

/**
 * A throwaway Redis for the cache-hit scenarios (`--redis`): the Debian `redis-server` binary on a
 * free loopback port, no persistence. The minimal part of test/helpers/redis-server.ts (which the
 * build does not include), registered with procs.ts so every way out of the benchmark stops it.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { freePort } from '../../scripts/lib/ports.js';
import { spawnTracked, stopChild } from './procs.js';

export const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
const SETPRIV_BIN = '/usr/bin/setpriv';
const READY_TIMEOUT_MS = 5_000;

export interface RedisServer {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(REDIS_BIN)) {
    throw new Error(`redis-server not found at ${REDIS_BIN}: install the Debian package "redis-server" (apt-get install -y redis-server), or set REDIS_SERVER_BIN`);
  }
  // A free port can be taken between probing and binding; try a few before giving up.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnRedis(port);
      return { url: `redis://127.0.0.1:${port}`, port, child, stop: () => stopChild(child, 3_000) };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  // setpriv execs redis-server (same pid) and makes it die with the benchmark if that is killed outright.
  const [command, commandArgs] = existsSync(SETPRIV_BIN) ? [SETPRIV_BIN, ['--pdeathsig', 'KILL', '--', REDIS_BIN, ...args]] : [REDIS_BIN, args];
  const child = spawnTracked('redis-server', command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited before it was ready${spawnError ? `: ${spawnError.message}` : ''}\n${output}`);
    }
    if (await ping(port)) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  await stopChild(child, 3_000);
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms\n${output}`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

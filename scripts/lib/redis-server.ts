import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { freePort } from './ports.js';

/**
 * A throwaway Redis for tests and the benchmark: the Debian `redis-server` binary on a free
 * loopback port, no persistence. `stop()`/`restart()` let outage tests take it away and bring it
 * back on the same port; `pause()`/`resume()` (SIGSTOP/SIGCONT) make it hang with its connections open.
 */
export interface RedisServerHandle {
  url: string;
  port: number;
  /** The redis-server process now running (a new one after `restart()`). */
  readonly child: ChildProcess;
  stop(): Promise<void>;
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface StartRedisOptions {
  /** Called with each redis-server process as it is spawned (the benchmark registers it for clean-up). */
  onSpawn?: (child: ChildProcess) => void;
}

export const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
const SETPRIV_BIN = '/usr/bin/setpriv';
const READY_TIMEOUT_MS = 5_000;
const KILL_AFTER_MS = 3_000;

/** Every server this process started; killed on exit so a crashed suite leaves nothing behind. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServerHandle> {
  if (!existsSync(REDIS_BIN)) {
    throw new Error(
      `redis-server not found at ${REDIS_BIN}: install the Debian package "redis-server" (apt-get install -y redis-server), or set REDIS_SERVER_BIN`,
    );
  }
  installExitHook();

  // A free port can be taken between probing and binding; try a few before giving up.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      let child = await spawnRedis(port, options);
      let paused = false;
      const handle: RedisServerHandle = {
        url: `redis://127.0.0.1:${port}`,
        port,
        get child() {
          return child;
        },
        async stop() {
          if (paused) handle.resume();
          await killProcess(child);
        },
        async restart() {
          await handle.stop();
          child = await spawnRedis(port, options);
        },
        pause() {
          if (child.exitCode === null && child.signalCode === null && !paused) {
            child.kill('SIGSTOP');
            paused = true;
          }
        },
        resume() {
          if (paused) {
            child.kill('SIGCONT');
            paused = false;
          }
        },
      };
      return handle;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function spawnRedis(port: number, options: StartRedisOptions): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  // With util-linux's setpriv the server also dies with this process if it is killed outright
  // (SIGKILL, a crashed test worker or benchmark), when neither stop() nor the exit hook gets to run.
  const [command, commandArgs] = existsSync(SETPRIV_BIN) ? [SETPRIV_BIN, ['--pdeathsig', 'KILL', '--', REDIS_BIN, ...args]] : [REDIS_BIN, args];
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  options.onSpawn?.(child);

  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exited = false;
  let spawnError: Error | undefined;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });
  child.once('error', (err) => {
    spawnError = err;
    exited = true;
    running.delete(child);
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`redis-server on port ${port} exited before it was ready${spawnError ? `: ${spawnError.message}` : ''}\n${output}`);
    }
    if (await ping(port)) return child;
    await sleep(25);
  }
  await killProcess(child);
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms\n${output}`);
}

/** SIGTERM, then SIGKILL if it is still there after 3 s; resolves once the process has exited. */
async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
    running.delete(child);
  }
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

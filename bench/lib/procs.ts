/**
 * Child processes of the benchmark. Every process it starts is registered here so that a normal
 * end, an error or Ctrl-C all stop exactly those processes (by pid, newest first), and a last
 * synchronous SIGKILL on exit catches anything still alive.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

interface Tracked {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const live: Tracked[] = [];

export function track(name: string, child: ChildProcess): ChildProcess {
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  const entry: Tracked = { name, child, exited };
  live.push(entry);
  void exited.then(() => {
    const i = live.indexOf(entry);
    if (i >= 0) live.splice(i, 1);
  });
  // A failed spawn (ENOENT) emits 'error' and never 'exit'; don't let it crash the run.
  child.once('error', () => undefined);
  return child;
}

export function spawnTracked(name: string, cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  return track(name, spawn(cmd, args, opts));
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code (null if killed by a signal). */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  if (!isAlive(child)) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (isAlive(child)) child.kill('SIGKILL');
  }, graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Stops every registered process, newest first (load generators, Envoys, processor, simulator). */
export async function stopAll(): Promise<void> {
  for (const t of [...live].reverse()) {
    await stopChild(t.child).catch(() => undefined);
  }
}

/** Last resort on process exit: SIGKILL whatever is still registered. Synchronous. */
export function killAllSync(): void {
  for (const t of live) {
    if (isAlive(t.child)) {
      try {
        t.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

export function liveProcesses(): string[] {
  return live.filter((t) => isAlive(t.child)).map((t) => `${t.name} (pid ${t.child.pid})`);
}

export interface RunOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (a load generator), capturing its output; kills it after `timeoutMs`. */
export function runToEnd(name: string, cmd: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(name, cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => {
      if (isAlive(child)) child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${name}: cannot start ${cmd}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

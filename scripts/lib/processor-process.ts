/*
 * The processor as a child process of `npm start`: its workers listen on Unix sockets beside
 * Envoy (one each, so Envoy balances streams across them), and a processor that dies is started
 * again, so the gateway recovers without anyone watching it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import type { Logger } from '../../ext-proc/src/log/logger.js';
import { workerSocketPath } from '../../ext-proc/src/workers/count.js';

/** A processor that keeps dying is restarted less and less eagerly, up to this delay. */
const MAX_RESTART_DELAY_MS = 5000;

export interface ProcessorProcess {
  /** The workers' Unix sockets, for Envoy's ext_proc cluster. */
  sockets: string[];
  metricsUrl: string;
  /** The running processor's pid (it changes when it is restarted). */
  pid(): number | undefined;
  /** SIGTERM, then wait up to `graceMs` (the processor drains its streams meanwhile). */
  stop(graceMs: number): Promise<void>;
}

export async function startProcessorProcess(o: {
  env: NodeJS.ProcessEnv;
  workers: number;
  metricsPort: number;
  log: Logger;
  readyTimeoutMs?: number;
}): Promise<ProcessorProcess> {
  const entry = path.join(repoRoot(), 'dist', 'ext-proc', 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const socketDir = mkdtempSync(path.join(os.tmpdir(), 'llm-gateway-sock-'));
  const sockets = Array.from({ length: o.workers }, (_, i) => workerSocketPath(socketDir, i));
  const env = { ...o.env, PROCESSOR_WORKERS: String(o.workers), GRPC_SOCKET_DIR: socketDir, METRICS_PORT: String(o.metricsPort), EXIT_WITH_PARENT: '1' };
  const metricsUrl = `http://127.0.0.1:${o.metricsPort}/metrics`;

  let child: ChildProcess;
  let stopping = false;
  let restarts = 0;
  let lastStart = Date.now();
  const launch = (): ChildProcess => {
    lastStart = Date.now();
    // stdin is a pipe from this process: the processor stops when it closes (this process is gone).
    const c = spawn(process.execPath, [entry], { env, stdio: ['pipe', 'inherit', 'inherit'] });
    c.once('exit', (code, signal) => {
      if (stopping) return;
      // One that served for a while starts its back-off afresh.
      if (Date.now() - lastStart > 30_000) restarts = 0;
      const delay = Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** restarts++);
      o.log.error({ code, signal, restartInMs: delay }, 'processor exited; starting it again');
      setTimeout(() => {
        if (!stopping) child = launch();
      }, delay).unref();
    });
    return c;
  };
  child = launch();

  // Ready once every worker's socket is there and the metrics answer.
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null && restarts > 3) throw new Error('the processor keeps exiting at start-up (see its log above)');
    if (sockets.every((s) => existsSync(s))) {
      const ok = await fetch(metricsUrl).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
    }
    if (Date.now() > deadline) throw new Error(`the processor was not ready after ${(o.readyTimeoutMs ?? 30_000) / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    sockets,
    metricsUrl,
    pid: () => child.pid,
    async stop(graceMs) {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs + 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}

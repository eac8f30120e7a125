/*
 * `npm start`: the local stack in the foreground — Envoy on GATEWAY_PORT (default 10000, admin
 * 9901), the processor on gRPC 50051 with metrics on 9464, and, without provider credentials,
 * the bundled provider simulators (demo mode). Ctrl-C / SIGTERM drains and stops everything.
 */
import net from 'node:net';
import { readEnv } from '../ext-proc/src/config/env.js';
import { workerCount } from '../ext-proc/src/workers/count.js';
import { stopOnSignals } from '../ext-proc/src/lifecycle.js';
import { flushLogs, rootLogger as log } from '../ext-proc/src/log/logger.js';
import { startLocalStack } from './lib/local-stack.js';

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** Fails with a clear message when a port is taken (a gateway already running, or one left behind). */
async function ensureFree(name: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', () => reject(new Error(`port ${port} (${name}) is in use: is a gateway already running? Stop it, or set ${name} to another port`)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

async function main(): Promise<void> {
  const config = readEnv();
  // Never report ready on a port another process holds.
  for (const [name, p] of [
    ['GATEWAY_PORT', port('GATEWAY_PORT', 10000)],
    ['ENVOY_ADMIN_PORT', port('ENVOY_ADMIN_PORT', 9901)],
    ['GRPC_PORT', config.GRPC_PORT],
    ['METRICS_PORT', config.METRICS_PORT],
  ] as const) {
    await ensureFree(name, p);
  }
  const stack = await startLocalStack({
    env: process.env,
    log,
    gatewayPort: port('GATEWAY_PORT', 10000),
    adminPort: port('ENVOY_ADMIN_PORT', 9901),
    grpcPort: config.GRPC_PORT,
    metricsPort: config.METRICS_PORT,
    // The processor runs as a supervised child: one worker per CPU (PROCESSOR_WORKERS overrides),
    // each on a Unix socket Envoy balances streams across; one that dies is started again.
    processorProcess: { workers: workerCount(config.PROCESSOR_WORKERS) },
    onEnvoyStdout: (chunk) => process.stdout.write(chunk),
    // Demo-mode simulator pacing, to watch streaming (tokens/s) and latency in action.
    simulator: { tokensPerSecond: Number(process.env.SIM_TOKENS_PER_SECOND ?? 0), latencyMs: Number(process.env.SIM_LATENCY_MS ?? 0) },
  });
  const firstKey = stack.gatewayKeys.split(',')[0]?.split(':')[1] ?? '';
  const out: string[] = [];
  out.push('');
  out.push(
    `  LLM gateway ready on ${stack.gatewayUrl}  (${stack.demo ? 'demo mode: bundled provider simulators' : `providers: ${stack.providers.join(', ')}`})`,
  );
  out.push(`  metrics  ${stack.metricsUrl}`);
  out.push(`  processor workers: ${workerCount(config.PROCESSOR_WORKERS)}`);
  out.push(`  envoy    ${stack.adminUrl}`);
  if (!process.env.GATEWAY_KEYS) out.push(`  demo gateway key: ${firstKey}`);
  out.push('');
  out.push(`  curl ${stack.gatewayUrl}/v1/chat/completions -H "Authorization: Bearer ${process.env.GATEWAY_KEYS ? '<your key>' : firstKey}" \\`);
  out.push(`    -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`);
  out.push('');
  // Signals are handled before `ready` is printed: whoever waits for it may stop us at once.
  stopOnSignals(log, () => stack.close(config.SHUTDOWN_GRACE_MS));
  // SIGHUP reloads the catalog, routing and tenant policies: the processor's primary passes it on
  // to its workers.
  process.on('SIGHUP', () => {
    const pid = stack.processor?.pid();
    if (pid !== undefined) process.kill(pid, 'SIGHUP');
  });
  flushLogs();
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  log.fatal(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
  flushLogs();
  process.exit(1);
});

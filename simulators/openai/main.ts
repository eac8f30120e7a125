/**
 * CLI entry for the OpenAI-format simulator.
 *
 * Environment:
 *   SIM_PORT               port (default 0 = ephemeral)
 *   SIM_HOST               bind address (default 127.0.0.1)
 *   SIM_API_KEY            required bearer key (unset = no auth)
 *   SIM_LATENCY_MS         delay before each response starts
 *   SIM_TOKENS_PER_SECOND  streaming pace (0 = as fast as possible)
 *   SIM_FAIL_EVERY         inject a failure every Nth request (0 = never)
 *   SIM_FAIL_STATUS        status of injected failures (default 500)
 *
 * Prints one JSON line `{"event":"simulator ready","url":...}` once listening
 * and shuts down cleanly on SIGTERM / SIGINT.
 */
import { startOpenAISimulator, type OpenAISimulatorOptions } from './server.js';

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  }
  return n;
}

async function main(): Promise<void> {
  const opts: OpenAISimulatorOptions = {};
  const host = process.env.SIM_HOST;
  if (host !== undefined && host !== '') opts.host = host;
  const apiKey = process.env.SIM_API_KEY;
  if (apiKey !== undefined && apiKey !== '') opts.apiKey = apiKey;
  const port = envNumber('SIM_PORT');
  if (port !== undefined) opts.port = port;
  const latencyMs = envNumber('SIM_LATENCY_MS');
  if (latencyMs !== undefined) opts.latencyMs = latencyMs;
  const tps = envNumber('SIM_TOKENS_PER_SECOND');
  if (tps !== undefined) opts.tokensPerSecond = tps;
  const failEvery = envNumber('SIM_FAIL_EVERY');
  if (failEvery !== undefined) opts.failEvery = failEvery;
  const failStatus = envNumber('SIM_FAIL_STATUS');
  if (failStatus !== undefined) opts.failStatus = failStatus;

  const sim = await startOpenAISimulator(opts);
  process.stdout.write(
    JSON.stringify({
      event: 'simulator ready',
      simulator: 'openai',
      url: sim.url,
      port: sim.port,
      auth: opts.apiKey !== undefined,
    }) + '\n',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => {
        process.stdout.write(JSON.stringify({ event: 'simulator stopped', signal }) + '\n');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`simulator close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(
    JSON.stringify({ event: 'simulator failed', error: err instanceof Error ? err.message : String(err) }) + '\n',
  );
  process.exit(1);
});

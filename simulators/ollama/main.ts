/**
 * CLI entry for the Ollama simulator.
 *
 * Environment:
 *   SIM_PORT               port (default 0 = ephemeral; a real Ollama listens on 11434)
 *   SIM_HOST               bind address (default 127.0.0.1)
 *   SIM_API_KEY            required bearer key (unset = no auth, like Ollama itself)
 *   SIM_LATENCY_MS         delay before each answer starts (model load time)
 *   SIM_TOKENS_PER_SECOND  generation pace (0 = as fast as possible)
 *   SIM_FAIL_EVERY         inject a failure every Nth request (0 = never)
 *   SIM_FAIL_STATUS        status of injected failures (default 500)
 *   SIM_PARALLEL           chats generated at once (default 1, as OLLAMA_NUM_PARALLEL)
 *   SIM_MAX_QUEUE          chats allowed to wait (default 512, as OLLAMA_MAX_QUEUE)
 *   SIM_MODELS             comma-separated installed models (default: the simulator's list)
 *
 * Prints one JSON line `{"event":"simulator ready","url":...}` once listening and shuts down
 * cleanly on SIGTERM / SIGINT.
 */
import { startOllamaSimulator, type OllamaSimulatorOptions } from './server.js';

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

async function main(): Promise<void> {
  const opts: OllamaSimulatorOptions = {};
  const host = process.env.SIM_HOST;
  if (host !== undefined && host !== '') opts.host = host;
  const apiKey = process.env.SIM_API_KEY;
  if (apiKey !== undefined && apiKey !== '') opts.apiKey = apiKey;
  const models = process.env.SIM_MODELS;
  if (models !== undefined && models.trim() !== '') opts.models = models.split(',').map((m) => m.trim()).filter((m) => m !== '');
  const numeric: Array<[string, keyof OllamaSimulatorOptions]> = [
    ['SIM_PORT', 'port'],
    ['SIM_LATENCY_MS', 'latencyMs'],
    ['SIM_TOKENS_PER_SECOND', 'tokensPerSecond'],
    ['SIM_FAIL_EVERY', 'failEvery'],
    ['SIM_FAIL_STATUS', 'failStatus'],
    ['SIM_PARALLEL', 'parallel'],
    ['SIM_MAX_QUEUE', 'maxQueue'],
  ];
  for (const [env, key] of numeric) {
    const n = envNumber(env);
    if (n !== undefined) (opts as Record<string, unknown>)[key] = n;
  }

  const sim = await startOllamaSimulator(opts);
  process.stdout.write(
    JSON.stringify({ event: 'simulator ready', simulator: 'ollama', url: sim.url, port: sim.port, auth: opts.apiKey !== undefined }) + '\n',
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
  process.stderr.write(JSON.stringify({ event: 'simulator failed', error: err instanceof Error ? err.message : String(err) }) + '\n');
  process.exit(1);
});

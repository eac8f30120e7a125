/**
 * CLI entry for the Gemini-format simulator.
 *
 * Environment (the same as the OpenAI simulator's):
 *   SIM_PORT               port (default 0 = ephemeral)
 *   SIM_HOST               bind address (default 127.0.0.1)
 *   SIM_API_KEY            required key, in x-goog-api-key or ?key= (unset = no auth)
 *   SIM_LATENCY_MS         delay before each response starts
 *   SIM_TOKENS_PER_SECOND  streaming pace (0 = as fast as possible)
 *   SIM_FAIL_EVERY         inject a failure every Nth request (0 = never)
 *   SIM_FAIL_STATUS        status of injected failures (default 500)
 *
 * Prints one JSON line `{"event":"simulator ready","url":...}` once listening and shuts down
 * cleanly on SIGTERM / SIGINT.
 */
import { startGeminiSimulator, type GeminiSimulatorOptions } from './server.js';

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

async function main(): Promise<void> {
  const opts: GeminiSimulatorOptions = {};
  if (process.env.SIM_HOST) opts.host = process.env.SIM_HOST;
  if (process.env.SIM_API_KEY) opts.apiKey = process.env.SIM_API_KEY;
  const numbers: Array<[keyof GeminiSimulatorOptions, string]> = [
    ['port', 'SIM_PORT'],
    ['latencyMs', 'SIM_LATENCY_MS'],
    ['tokensPerSecond', 'SIM_TOKENS_PER_SECOND'],
    ['failEvery', 'SIM_FAIL_EVERY'],
    ['failStatus', 'SIM_FAIL_STATUS'],
  ];
  for (const [key, env] of numbers) {
    const n = envNumber(env);
    if (n !== undefined) (opts as Record<string, unknown>)[key] = n;
  }

  const sim = await startGeminiSimulator(opts);
  process.stdout.write(JSON.stringify({ event: 'simulator ready', simulator: 'gemini', url: sim.url, port: sim.port, auth: opts.apiKey !== undefined }) + '\n');

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

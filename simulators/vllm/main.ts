/**
 * CLI entry for the vLLM simulator.
 *
 * Environment (unset or empty = the simulator's default):
 *   SIM_PORT                        port (default 0 = ephemeral; a real vLLM listens on 8000)
 *   SIM_HOST                        bind address (default 127.0.0.1)
 *   SIM_API_KEY                     required bearer key on /v1 (vLLM's --api-key; unset = none)
 *   SIM_MODEL                       served base model name
 *   SIM_MAX_NUM_SEQS                sequences run at once (--max-num-seqs)
 *   SIM_MAX_QUEUE                   waiting requests beyond which new ones get 503
 *   SIM_TOKENS_PER_SECOND           decode speed per sequence (0 = instant)
 *   SIM_PREFILL_TOKENS_PER_SECOND   prompt processing speed (0 = instant)
 *   SIM_KV_CACHE_TOKENS             KV cache capacity in tokens, also the context length
 *   SIM_LORA_MODULES                comma-separated adapter names (--lora-modules)
 *   SIM_MAX_LORAS                   adapters resident at once (--max-loras)
 *   SIM_LORA_LOAD_MS                time to load an adapter that is not resident
 *   SIM_LATENCY_MS                  fixed extra delay before the first token
 *   SIM_FAIL_EVERY                  inject a failure every Nth chat request (0 = never)
 *   SIM_FAIL_STATUS                 status of injected failures (default 500)
 *
 * Prints one JSON line `{"event":"simulator ready","url":...}` once listening and shuts down
 * cleanly on SIGTERM / SIGINT.
 */
import { z } from 'zod';
import { startVllmSimulator, type VllmSimulatorOptions } from './server.js';

const NUMERIC: ReadonlyArray<[string, keyof VllmSimulatorOptions]> = [
  ['SIM_PORT', 'port'],
  ['SIM_MAX_NUM_SEQS', 'maxNumSeqs'],
  ['SIM_MAX_QUEUE', 'maxQueue'],
  ['SIM_TOKENS_PER_SECOND', 'tokensPerSecond'],
  ['SIM_PREFILL_TOKENS_PER_SECOND', 'prefillTokensPerSecond'],
  ['SIM_KV_CACHE_TOKENS', 'kvCacheTokens'],
  ['SIM_MAX_LORAS', 'maxLoras'],
  ['SIM_LORA_LOAD_MS', 'loraLoadMs'],
  ['SIM_LATENCY_MS', 'latencyMs'],
  ['SIM_FAIL_EVERY', 'failEvery'],
  ['SIM_FAIL_STATUS', 'failStatus'],
];

const number = z.coerce.number().finite().nonnegative();

/** Options from the environment; the simulator checks their ranges itself. */
function optionsFromEnv(env: NodeJS.ProcessEnv): VllmSimulatorOptions {
  const set = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const opts: Record<string, unknown> = {};
  for (const [name, key] of NUMERIC) {
    const raw = set(name);
    if (raw === undefined) continue;
    const parsed = number.safeParse(raw);
    if (!parsed.success) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    opts[key] = parsed.data;
  }
  const host = set('SIM_HOST');
  if (host !== undefined) opts.host = host;
  const apiKey = set('SIM_API_KEY');
  if (apiKey !== undefined) opts.apiKey = apiKey;
  const model = set('SIM_MODEL');
  if (model !== undefined) opts.model = model;
  const lora = set('SIM_LORA_MODULES');
  if (lora !== undefined) opts.loraModules = lora.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return opts as VllmSimulatorOptions;
}

async function main(): Promise<void> {
  const opts = optionsFromEnv(process.env);
  const sim = await startVllmSimulator(opts);
  process.stdout.write(
    JSON.stringify({ event: 'simulator ready', simulator: 'vllm', url: sim.url, port: sim.port, auth: opts.apiKey !== undefined }) + '\n',
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

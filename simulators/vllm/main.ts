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
import { envList, envString, numbersFromEnv, runSimulatorCli } from '../common/cli.js';
import { startVllmSimulator, type VllmSimulatorOptions } from './server.js';

const NUMERIC = [
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
] as const satisfies ReadonlyArray<readonly [string, keyof VllmSimulatorOptions]>;

/** Options from the environment, values trimmed; the simulator checks their ranges itself. */
function optionsFromEnv(env: NodeJS.ProcessEnv): VllmSimulatorOptions {
  const trimmed = { trim: true };
  const opts: VllmSimulatorOptions = numbersFromEnv(env, NUMERIC, trimmed);
  const host = envString(env, 'SIM_HOST', trimmed);
  if (host !== undefined) opts.host = host;
  const apiKey = envString(env, 'SIM_API_KEY', trimmed);
  if (apiKey !== undefined) opts.apiKey = apiKey;
  const model = envString(env, 'SIM_MODEL', trimmed);
  if (model !== undefined) opts.model = model;
  const lora = envList(env, 'SIM_LORA_MODULES');
  if (lora !== undefined) opts.loraModules = lora;
  return opts;
}

runSimulatorCli('vllm', optionsFromEnv, startVllmSimulator);

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
import { commonOptionsFromEnv, envList, numbersFromEnv, runSimulatorCli } from '../common/cli.js';
import { startOllamaSimulator, type OllamaSimulatorOptions } from './server.js';

function optionsFromEnv(env: NodeJS.ProcessEnv): OllamaSimulatorOptions {
  const opts: OllamaSimulatorOptions = commonOptionsFromEnv(env);
  const models = envList(env, 'SIM_MODELS');
  if (models !== undefined) opts.models = models;
  return {
    ...opts,
    ...numbersFromEnv(env, [
      ['SIM_PARALLEL', 'parallel'],
      ['SIM_MAX_QUEUE', 'maxQueue'],
    ]),
  };
}

runSimulatorCli('ollama', optionsFromEnv, startOllamaSimulator);

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
import { commonOptionsFromEnv, runSimulatorCli } from '../common/cli.js';
import { startOpenAISimulator } from './server.js';

runSimulatorCli('openai', commonOptionsFromEnv, startOpenAISimulator);

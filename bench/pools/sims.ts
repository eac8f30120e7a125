/**
 * The vLLM simulators of the pool benchmark, in a process of their own so their token timers do
 * not share an event loop with the client being measured. Config (one JSON argument):
 * `{ sims: VllmSimulatorOptions[] }`. Prints one JSON line `{ urls }` once every simulator
 * listens, and closes them on SIGTERM or SIGINT.
 */
import { startVllmSimulator, type VllmSimulator, type VllmSimulatorOptions } from '../../simulators/vllm/server.js';
import { emit, fail, readConfig } from '../load/common.js';

async function main(): Promise<void> {
  const cfg = readConfig<{ sims: VllmSimulatorOptions[] }>();
  const sims: VllmSimulator[] = await Promise.all(cfg.sims.map((o) => startVllmSimulator(o)));
  const stop = (): void => {
    void Promise.all(sims.map((s) => s.close())).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  emit({ urls: sims.map((s) => s.url) });
}

main().catch(fail);

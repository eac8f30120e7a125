/**
 * What the simulators' CLIs share: options from SIM_* environment variables, the JSON line
 * that tells a parent process the simulator is listening, and a clean stop on SIGTERM / SIGINT.
 */

type Env = NodeJS.ProcessEnv;

export interface EnvReading {
  /** Trim values before reading them (a value of spaces counts as unset). */
  trim?: boolean;
}

/** The variable's value; undefined when unset or empty. */
export function envString(env: Env, name: string, reading: EnvReading = {}): string | undefined {
  const raw = reading.trim === true ? env[name]?.trim() : env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** A non-negative number; undefined when unset or blank; anything else is an error. */
export function envNumber(env: Env, name: string, reading: EnvReading = {}): number | undefined {
  const raw = reading.trim === true ? env[name]?.trim() : env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

/** A comma-separated list, its items trimmed and empty ones dropped; undefined when unset or blank. */
export function envList(env: Env, name: string): string[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Reads numeric options by a table of [variable, option], in its order; unset ones are left out. */
export function numbersFromEnv<K extends string>(env: Env, table: ReadonlyArray<readonly [string, K]>, reading: EnvReading = {}): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [name, key] of table) {
    const n = envNumber(env, name, reading);
    if (n !== undefined) out[key] = n;
  }
  return out;
}

export const COMMON_NUMBERS = [
  ['SIM_PORT', 'port'],
  ['SIM_LATENCY_MS', 'latencyMs'],
  ['SIM_TOKENS_PER_SECOND', 'tokensPerSecond'],
  ['SIM_FAIL_EVERY', 'failEvery'],
  ['SIM_FAIL_STATUS', 'failStatus'],
] as const;

export interface CommonEnvOptions extends Partial<Record<(typeof COMMON_NUMBERS)[number][1], number>> {
  host?: string;
  apiKey?: string;
}

/**
 * SIM_HOST, SIM_API_KEY, SIM_PORT, SIM_LATENCY_MS, SIM_TOKENS_PER_SECOND, SIM_FAIL_EVERY and
 * SIM_FAIL_STATUS, read as the OpenAI, Anthropic, Gemini and Ollama CLIs read them.
 */
export function commonOptionsFromEnv(env: Env): CommonEnvOptions {
  const opts: CommonEnvOptions = {};
  const host = envString(env, 'SIM_HOST');
  if (host !== undefined) opts.host = host;
  const apiKey = envString(env, 'SIM_API_KEY');
  if (apiKey !== undefined) opts.apiKey = apiKey;
  return { ...opts, ...numbersFromEnv(env, COMMON_NUMBERS) };
}

export interface RunningSimulator {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts a simulator with options read from the environment, prints
 * `{"event":"simulator ready",...}` once it listens (parents wait for that line), and closes it
 * on SIGTERM / SIGINT. A bad option or a failed start prints `{"event":"simulator failed",...}`
 * to stderr and exits 1.
 */
export function runSimulatorCli<O extends { apiKey?: string }>(
  simulator: string,
  options: (env: Env) => O,
  start: (opts: O) => Promise<RunningSimulator>,
): void {
  const main = async (): Promise<void> => {
    const opts = options(process.env);
    const sim = await start(opts);
    process.stdout.write(`${JSON.stringify({ event: 'simulator ready', simulator, url: sim.url, port: sim.port, auth: opts.apiKey !== undefined })}\n`);

    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      sim.close().then(
        () => {
          process.stdout.write(`${JSON.stringify({ event: 'simulator stopped', signal })}\n`);
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
  };

  main().catch((err: unknown) => {
    process.stderr.write(`${JSON.stringify({ event: 'simulator failed', error: err instanceof Error ? err.message : String(err) })}\n`);
    process.exit(1);
  });
}

/**
 * Shared by the Node load clients: each runs as its own process (so its event loop is not the
 * orchestrator's), takes its configuration as one JSON argument and prints one JSON line.
 */

export function readConfig<T>(): T {
  const raw = process.argv[2];
  if (!raw) {
    process.stderr.write(`usage: node ${process.argv[1]} '<json config>'\n`);
    process.exit(2);
  }
  return JSON.parse(raw) as T;
}

/**
 * Writes the result line. Resolves once it has been handed to the OS: stdout to a pipe is
 * asynchronous, so a process that calls process.exit() right after a large write loses its tail.
 */
export function emit(result: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(`${JSON.stringify(result)}\n`, (err) => (err ? reject(err) : resolve())));
}

/** Nanoseconds (bigint) to microseconds, rounded to 0.1 µs. */
export function nsToUs(ns: bigint): number {
  return Math.round(Number(ns) / 100) / 10;
}

/** Nearest-rank percentile of an ascending array. */
export function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function fail(err: unknown): never {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}

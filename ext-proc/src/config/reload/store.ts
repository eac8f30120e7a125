/**
 * The configuration in force, as one immutable snapshot swapped whole on reload.
 *
 * Readers take `current()` once per call and keep that snapshot to the call's end: a call never
 * sees half of one configuration and half of the next, and a reload never fails a call in flight.
 * A reload builds the next snapshot completely before swapping it in; when anything in it is
 * invalid, the snapshot in force stays, and the error is logged with its file and line (the YAML
 * loaders' errors carry them).
 */
import type { Logger } from '../../log/logger.js';
import { YamlSourceError } from '../yaml-source.js';

export type ReloadResult = 'ok' | 'failed';

export interface ConfigStoreOptions<T> {
  /** Builds the next snapshot from the files, given the one in force; throws when something is invalid. */
  load(current: T): T;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Told every reload's result (the reload counter). */
  onResult?(result: ReloadResult): void;
  /** After a swap: release what only the old snapshot used. */
  retire?(old: T, next: T): void;
  /** Figures worth a word in the log line of a successful reload. */
  describe?(snapshot: T): Record<string, unknown>;
}

export class ConfigStore<T> {
  private snapshot: T;
  private generation = 1;

  constructor(
    initial: T,
    private readonly o: ConfigStoreOptions<T>,
  ) {
    this.snapshot = initial;
  }

  /** The configuration in force. Read it once per call. */
  current(): T {
    return this.snapshot;
  }

  /** How many configurations have been in force (1 until the first successful reload). */
  version(): number {
    return this.generation;
  }

  /** Loads the files again; swaps the new snapshot in if it is whole and valid. True when swapped. */
  reload(reason: string, files: readonly string[] = []): boolean {
    const old = this.snapshot;
    let next: T;
    try {
      next = this.o.load(old);
    } catch (err) {
      this.o.onResult?.('failed');
      this.o.log.error(failure(err, reason, files), `configuration reload failed, previous configuration kept: ${firstLine(err)}`);
      return false;
    }
    this.snapshot = next;
    this.generation++;
    this.o.onResult?.('ok');
    this.o.log.info({ reason, files, version: this.generation, ...this.o.describe?.(next) }, 'configuration reloaded');
    try {
      this.o.retire?.(old, next);
    } catch (err) {
      this.o.log.warn({ err: firstLine(err) }, 'releasing the previous configuration failed');
    }
    return true;
  }
}

/** The log fields of a failed reload: each problem as `file:line:col: ...` when the loader located it. */
function failure(err: unknown, reason: string, files: readonly string[]): Record<string, unknown> {
  if (err instanceof YamlSourceError) return { reason, files, file: err.source, problems: err.issues.map((i) => i.message) };
  return { reason, files, err: err instanceof Error ? err.message : String(err) };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

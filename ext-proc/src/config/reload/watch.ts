/**
 * Watches configuration files for changes, the way editors and deployers really change them.
 *
 * The directories are watched, not the files: an editor that saves by writing a new file and
 * renaming it over the old one (vim, most IDEs, `models:update`) replaces the inode a file watch
 * would hold, and Kubernetes swaps a ConfigMap volume's `..data` link rather than touching the
 * files. Events are debounced (a save is several of them), and a file counts as changed only when
 * its content did: `touch`, or a swap file appearing beside it, reloads nothing.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../log/logger.js';

export interface FileWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before the files are compared (default 250 ms). */
  debounceMs?: number;
  log: Pick<Logger, 'warn' | 'debug'>;
}

/** Calls `onChange` with the files (as given) whose content changed since the last call. */
export function watchFiles(files: readonly string[], onChange: (changed: string[]) => void, o: WatchOptions): FileWatcher {
  const debounceMs = o.debounceMs ?? 250;
  const given = new Map(files.map((f) => [path.resolve(f), f]));
  const seen = new Map<string, string>();
  for (const f of given.keys()) seen.set(f, fingerprint(f));

  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    const changed: string[] = [];
    for (const [f, was] of seen) {
      const now = fingerprint(f);
      if (now === was) continue;
      seen.set(f, now);
      changed.push(given.get(f)!);
    }
    if (changed.length > 0) onChange(changed);
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
    timer.unref();
  };

  const byDir = new Map<string, Set<string>>();
  for (const f of given.keys()) {
    const names = byDir.get(path.dirname(f)) ?? new Set<string>();
    names.add(path.basename(f));
    byDir.set(path.dirname(f), names);
  }
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        // No name (some platforms), one of ours, or a Kubernetes volume swapping `..data`.
        if (name === null || names.has(String(name)) || String(name).startsWith('..')) schedule();
      });
      w.on('error', (err) => o.log.warn({ dir, err: err.message }, 'configuration watch failed: reload with SIGHUP'));
      watchers.push(w);
    } catch (err) {
      o.log.warn({ dir, err: err instanceof Error ? err.message : String(err) }, 'cannot watch configuration directory: reload with SIGHUP');
    }
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

/** The content's digest, or `missing` (a rename-replace may catch the file absent for an instant). */
function fingerprint(file: string): string {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return 'missing';
  }
}

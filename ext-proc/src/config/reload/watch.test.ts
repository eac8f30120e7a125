/*
 * The watcher against the real file system, changed the ways files really change: written in
 * place, replaced by a rename (editors, models:update), deleted and recreated, swapped by a
 * Kubernetes ConfigMap volume; and left alone when only their time stamp or their neighbours change.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { repoRoot } from '../paths.js';
import { loadConfigFiles } from './files.js';
import { ConfigStore } from './store.js';
import { watchFiles, type FileWatcher } from './watch.js';

const DEBOUNCE = 60;
const log = { warn: vi.fn(), debug: vi.fn() };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let watchers: FileWatcher[] = [];
afterEach(() => {
  for (const w of watchers) w.close();
  watchers = [];
});

function setup(): { dir: string; file: string; changes: string[][]; next: () => Promise<string[]> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-watch-'));
  const file = path.join(dir, 'catalog.yaml');
  writeFileSync(file, 'a: 1\n');
  const changes: string[][] = [];
  let wake: (() => void) | undefined;
  watchers.push(
    watchFiles(
      [file],
      (changed) => {
        changes.push(changed);
        wake?.();
      },
      { debounceMs: DEBOUNCE, log },
    ),
  );
  const next = async () => {
    const seen = changes.length;
    const deadline = Date.now() + 5000;
    while (changes.length === seen && Date.now() < deadline) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    if (changes.length === seen) throw new Error('no change reported within 5 s');
    return changes.at(-1)!;
  };
  return { dir, file, changes, next };
}

describe('watchFiles', () => {
  it('reports a file written in place once, however many writes a save takes', async () => {
    const { file, changes, next } = setup();
    writeFileSync(file, 'a: 2\n');
    writeFileSync(file, 'a: 2\nb: 3\n');
    expect(await next()).toEqual([file]);
    await sleep(DEBOUNCE * 4);
    expect(changes).toHaveLength(1);
  });

  it('follows a file replaced by a rename, and keeps following the new one', async () => {
    const { dir, file, next } = setup();
    writeFileSync(path.join(dir, '.catalog.yaml.tmp'), 'a: 2\n');
    renameSync(path.join(dir, '.catalog.yaml.tmp'), file);
    expect(await next()).toEqual([file]);
    writeFileSync(path.join(dir, '.catalog.yaml.tmp'), 'a: 3\n');
    renameSync(path.join(dir, '.catalog.yaml.tmp'), file);
    expect(await next()).toEqual([file]);
  });

  it('reports nothing for a touch, a rewrite with the same content, or another file in the directory', async () => {
    const { dir, file, changes } = setup();
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    writeFileSync(file, 'a: 1\n');
    writeFileSync(path.join(dir, 'catalog.yaml.swp'), 'x');
    writeFileSync(path.join(dir, 'routing.yaml'), 'y');
    await sleep(DEBOUNCE * 6);
    expect(changes).toEqual([]);
  });

  it('reports a deletion, then the file coming back', async () => {
    const { file, next } = setup();
    unlinkSync(file);
    expect(await next()).toEqual([file]);
    writeFileSync(file, 'a: 1\n');
    expect(await next()).toEqual([file]);
  });

  it('follows a Kubernetes ConfigMap volume swapping its ..data link', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-watch-k8s-'));
    mkdirSync(path.join(dir, '..2024_01'));
    writeFileSync(path.join(dir, '..2024_01', 'catalog.yaml'), 'a: 1\n');
    symlinkSync('..2024_01', path.join(dir, '..data'));
    symlinkSync(path.join('..data', 'catalog.yaml'), path.join(dir, 'catalog.yaml'));
    const seen: string[][] = [];
    watchers.push(watchFiles([path.join(dir, 'catalog.yaml')], (c) => seen.push(c), { debounceMs: DEBOUNCE, log }));
    // What the kubelet does: a new timestamped directory, a new link, renamed over ..data.
    mkdirSync(path.join(dir, '..2024_02'));
    writeFileSync(path.join(dir, '..2024_02', 'catalog.yaml'), 'a: 2\n');
    symlinkSync('..2024_02', path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    rmSync(path.join(dir, '..2024_01'), { recursive: true });
    const deadline = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < deadline) await sleep(25);
    expect(seen).toEqual([[path.join(dir, 'catalog.yaml')]]);
  });

  it('stops reporting once closed', async () => {
    const { file, changes } = setup();
    watchers.pop()!.close();
    writeFileSync(file, 'a: 9\n');
    await sleep(DEBOUNCE * 4);
    expect(changes).toEqual([]);
  });
});

describe('a store reloaded by the watcher', () => {
  it('picks up a valid change, and keeps the old configuration through an invalid one until it is fixed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-watch-store-'));
    const files = { catalog: path.join(dir, 'catalog.yaml'), routing: path.join(dir, 'routing.yaml') };
    copyFileSync(path.join(repoRoot(), 'models', 'catalog.yaml'), files.catalog);
    copyFileSync(path.join(repoRoot(), 'models', 'routing.yaml'), files.routing);
    const results: string[] = [];
    const storeLog = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const store = new ConfigStore(loadConfigFiles(files), { load: () => loadConfigFiles(files), log: storeLog, onResult: (r) => results.push(r) });
    watchers.push(watchFiles([files.catalog, files.routing], (changed) => store.reload('file change', changed), { debounceMs: DEBOUNCE, log }));
    const settle = async (n: number) => {
      const deadline = Date.now() + 5000;
      while (results.length < n && Date.now() < deadline) await sleep(25);
      expect(results).toHaveLength(n);
    };
    const original = readFileSync(files.catalog, 'utf8');
    const price = () => store.current().catalog.find('gpt-4o-mini')!.pricing.inputPerMTok;

    writeFileSync(files.catalog, original.replace('pricing: { input: 0.15, output: 0.60, cached_input: 0.075 }', 'pricing: { input: 0.20, output: 0.60 }'));
    await settle(1);
    expect(price()).toBe(0.2);

    // An editor's half-typed price: the old configuration stays, and the log says where.
    writeFileSync(files.catalog, original.replace('pricing: { input: 0.15, output: 0.60, cached_input: 0.075 }', 'pricing: { input: -0.5, output: 0.60 }'));
    await settle(2);
    expect(results).toEqual(['ok', 'failed']);
    expect(price()).toBe(0.2);
    const line = original.split('\n').findIndex((l) => l.includes('input: 0.15, output: 0.60')) + 1;
    expect(storeLog.error.mock.calls[0]![1]).toMatch(
      new RegExp(`catalog\\.yaml:${line}:\\d+: models\\[\\d+\\] \\(id: gpt-4o-mini\\): pricing\\.input: expected number >= 0`),
    );

    writeFileSync(files.catalog, original);
    await settle(3);
    expect(results).toEqual(['ok', 'failed', 'ok']);
    expect(price()).toBe(0.15);
  });
});

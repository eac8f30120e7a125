import { EventEmitter } from 'node:events';
import type { Worker } from 'node:cluster';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { parseCatalog } from '../../catalog/load.js';
import { repoRoot } from '../paths.js';
import { filesToWatch, loadConfigFiles, type LoadedConfig } from './files.js';
import { registerReloadCounter } from './metrics.js';
import { forwardReload, onReloadRequest, RELOAD_MESSAGE } from './signal.js';
import { ConfigStore } from './store.js';

const quietLog = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });
const counterValues = async (registry: Registry) =>
  Object.fromEntries((await registry.getSingleMetric('llm_gateway_config_reloads_total')!.get()).values.map((v) => [v.labels.result, v.value]));

describe('ConfigStore', () => {
  it('swaps in the next snapshot whole; a reader keeps the one it took', () => {
    const onResult = vi.fn();
    const retire = vi.fn();
    const log = quietLog();
    let n = 0;
    const store = new ConfigStore({ n: 0 }, { load: () => ({ n: ++n }), log, onResult, retire, describe: (s) => ({ n: s.n }) });
    const taken = store.current();
    expect(store.reload('SIGHUP')).toBe(true);
    expect(taken).toEqual({ n: 0 });
    expect(store.current()).toEqual({ n: 1 });
    expect(store.version()).toBe(2);
    expect(onResult).toHaveBeenCalledWith('ok');
    expect(retire).toHaveBeenCalledWith({ n: 0 }, { n: 1 });
    expect(log.info).toHaveBeenCalledWith({ reason: 'SIGHUP', files: [], version: 2, n: 1 }, 'configuration reloaded');
  });

  it('keeps the snapshot in force when the next one is invalid, and logs each problem with its file and line', () => {
    const onResult = vi.fn();
    const log = quietLog();
    const store = new ConfigStore('first', {
      load: () => {
        parseCatalog('providers: {}\nmodels:\n  - id: x\n    provider: nobody\n', 'models/catalog.yaml');
        return 'never';
      },
      log,
      onResult,
    });
    expect(store.reload('file change', ['models/catalog.yaml'])).toBe(false);
    expect(store.current()).toBe('first');
    expect(store.version()).toBe(1);
    expect(onResult).toHaveBeenCalledWith('failed');
    const [fields, message] = log.error.mock.calls[0]!;
    expect(message).toMatch(/^configuration reload failed, previous configuration kept: models\/catalog\.yaml:3:5: /);
    expect(fields).toMatchObject({ reason: 'file change', file: 'models/catalog.yaml' });
    expect(fields.problems).toHaveLength(5);
    expect(fields.problems).toContain('models/catalog.yaml:3:5: models[0] (id: x): tier: missing required field (expected one of economy, standard, premium)');
  });

  it('stays swapped when releasing the old snapshot fails', () => {
    const log = quietLog();
    const store = new ConfigStore(1, {
      load: (c) => c + 1,
      log,
      retire: () => {
        throw new Error('close failed');
      },
    });
    expect(store.reload('SIGHUP')).toBe(true);
    expect(store.current()).toBe(2);
    expect(log.warn).toHaveBeenCalledWith({ err: 'close failed' }, 'releasing the previous configuration failed');
  });
});

describe('loadConfigFiles in a store', () => {
  it('reloads the catalog, routing and tenant files together; an invalid one keeps all three as they were', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-reload-'));
    const files = { catalog: path.join(dir, 'catalog.yaml'), routing: path.join(dir, 'routing.yaml'), tenants: path.join(dir, 'tenants.yaml') };
    copyFileSync(path.join(repoRoot(), 'models', 'catalog.yaml'), files.catalog);
    copyFileSync(path.join(repoRoot(), 'models', 'routing.yaml'), files.routing);
    writeFileSync(files.tenants, 'tenants:\n  acme: { models: [gpt-4o-mini] }\n');
    expect(filesToWatch(files)).toEqual([files.catalog, files.routing, files.tenants]);
    const registry = new Registry();
    const store = new ConfigStore<LoadedConfig>(loadConfigFiles(files), {
      load: () => loadConfigFiles(files),
      log: quietLog(),
      onResult: registerReloadCounter(registry),
    });
    expect(await counterValues(registry)).toEqual({ ok: 0, failed: 0 });

    const original = readFileSync(files.catalog, 'utf8');
    writeFileSync(files.catalog, original.replace('pricing: { input: 0.15, output: 0.60, cached_input: 0.075 }', 'pricing: { input: 0.30, output: 1.20 }'));
    expect(store.reload('file change')).toBe(true);
    expect(store.current().catalog.find('gpt-4o-mini')!.pricing).toEqual({ inputPerMTok: 0.3, outputPerMTok: 1.2 });

    // The tenants file names a model the new catalog no longer has: nothing changes.
    const before = store.current();
    writeFileSync(files.catalog, original.replace('- id: gpt-4o-mini', '- id: gpt-4o-mini-renamed'));
    expect(store.reload('file change')).toBe(false);
    expect(store.current()).toBe(before);
    expect(await counterValues(registry)).toEqual({ ok: 1, failed: 1 });
  });
});

describe('reload requests', () => {
  it('come from SIGHUP and from the primary’s message, until unsubscribed', () => {
    const events = new EventEmitter();
    const reload = vi.fn();
    const stop = onReloadRequest(reload, events as unknown as NodeJS.Process);
    events.emit('SIGHUP', 'SIGHUP');
    events.emit('message', { type: RELOAD_MESSAGE });
    events.emit('message', { type: 'llm-gateway:shared-state-reply', id: 1 });
    events.emit('message', null);
    expect(reload).toHaveBeenCalledTimes(2);
    stop();
    events.emit('SIGHUP', 'SIGHUP');
    expect(reload).toHaveBeenCalledTimes(2);
  });

  it('are passed by the primary to every connected worker', () => {
    const worker = (connected: boolean) => ({ isConnected: () => connected, send: vi.fn() }) as unknown as Worker & { send: ReturnType<typeof vi.fn> };
    const [a, b, gone] = [worker(true), worker(true), worker(false)];
    expect(forwardReload([a, undefined, b, gone])).toBe(2);
    expect(a.send).toHaveBeenCalledWith({ type: RELOAD_MESSAGE });
    expect(b.send).toHaveBeenCalledWith({ type: RELOAD_MESSAGE });
    expect(gone.send).not.toHaveBeenCalled();
  });
});

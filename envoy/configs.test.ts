import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { envoyBinary } from '../scripts/lib/envoy-process.js';
import { renderedConfigs } from './render.js';

const rendered = renderedConfigs();

describe('committed Envoy configs', () => {
  for (const [rel, text] of Object.entries(rendered)) {
    it(`${rel} is up to date with envoy/bootstrap.ts (npm run envoy:render)`, () => {
      expect(readFileSync(path.join(repoRoot(), rel), 'utf8')).toBe(text);
    });
  }

  for (const rel of Object.keys(rendered).filter((r) => !r.includes('snippets/'))) {
    it(`${rel} passes envoy --mode validate`, () => {
      const out = execFileSync(envoyBinary(), ['--mode', 'validate', '-c', path.join(repoRoot(), rel), '-l', 'error'], { encoding: 'utf8' });
      expect(out).toContain('OK');
    });
  }

  it('the snippet carries the same filter the bootstrap uses', () => {
    const snippet = parse(rendered['envoy/snippets/ext-proc-filter.yaml']!) as { http_filters_insert_before_router: Array<{ typed_config: Record<string, unknown> }> };
    const boot = parse(rendered['envoy/envoy.yaml']!) as Record<string, any>;
    const filters = boot.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters as Array<{ name: string; typed_config: unknown }>;
    expect(filters[0]!.typed_config).toEqual(snippet.http_filters_insert_before_router[0]!.typed_config);
  });
});

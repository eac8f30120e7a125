import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { envoyBinary } from '../scripts/lib/envoy-process.js';
import { PROCESSOR_TOKEN_HEADER } from '../ext-proc/src/contract.js';
import { PROCESSOR_TOKEN_PLACEHOLDER, renderedConfigs } from './render.js';

const rendered = renderedConfigs();

describe('committed Envoy configs', () => {
  for (const [rel, text] of Object.entries(rendered)) {
    it(`${rel} is up to date with envoy/bootstrap.ts (npm run envoy:render)`, () => {
      expect(readFileSync(path.join(repoRoot(), rel), 'utf8')).toBe(text);
    });
  }

  const bootstraps = Object.keys(rendered).filter((r) => !/snippets\/|istio\/|envoy-gateway\//.test(r));
  expect(bootstraps).toContain('envoy/egress.yaml');
  for (const rel of bootstraps) {
    it(`${rel} passes envoy --mode validate`, () => {
      const out = execFileSync(envoyBinary(), ['--mode', 'validate', '-c', withTestCertificates(rel), '-l', 'error'], { encoding: 'utf8' });
      expect(out).toContain('OK');
    });
  }

  it('the Istio egress filter and clusters are the ones the bootstrap renders', () => {
    const docs = parseAllDocuments(rendered['envoy/istio/egress-gateway.yaml']!).map((d) => d.toJS() as Record<string, any>);
    expect(docs.map((d) => d.kind)).toEqual(['ServiceEntry', 'Gateway', 'DestinationRule', 'VirtualService', 'EnvoyFilter']);
    const patches = docs[4]!.spec.configPatches as Array<{ applyTo: string; patch: { value: any } }>;
    const boot = parse(rendered['envoy/envoy.yaml']!) as Record<string, any>;
    const filter = patches.find((p) => p.applyTo === 'HTTP_FILTER')!.patch.value;
    expect(withoutToken(filter)).toEqual(bootstrapExtProc(boot));
    expect(filter.typed_config.grpc_service.initial_metadata).toEqual([{ key: PROCESSOR_TOKEN_HEADER, value: PROCESSOR_TOKEN_PLACEHOLDER }]);
    const clusterNames = patches.filter((p) => p.applyTo === 'CLUSTER').map((p) => p.patch.value.name);
    for (const c of boot.static_resources.clusters) expect(clusterNames).toContain(c.name);
    // Every vhost gets the chain route first, then the processor's route.
    const routes = patches.filter((p) => p.applyTo === 'HTTP_ROUTE').map((p) => p.patch.value.name);
    expect(routes.slice(0, 2)).toEqual(['routed_by_processor', 'fallback_chain']);
  });

  it('the Envoy Gateway route has one rule per provider cluster and an entry rule', () => {
    const docs = parseAllDocuments(rendered['envoy/envoy-gateway/llm-gateway.yaml']!).map((d) => d.toJS() as Record<string, any>);
    const route = docs.find((d) => d.kind === 'HTTPRoute')!;
    const policy = docs.find((d) => d.kind === 'EnvoyExtensionPolicy')!;
    expect(policy.spec.targetRefs[0].name).toBe(route.metadata.name);
    expect(policy.spec.extProc[0].failOpen).toBe(false);
    const backends = new Set(docs.filter((d) => d.kind === 'Backend').map((d) => d.metadata.name));
    for (const rule of route.spec.rules) expect(backends.has(rule.backendRefs[0].name)).toBe(true);
    expect(route.spec.rules.at(-1).matches.map((m: any) => m.path.value)).toContain('/v1beta/');
  });

  it('the snippet carries the same filter the bootstrap uses', () => {
    const snippet = parse(rendered['envoy/snippets/ext-proc-filter.yaml']!) as {
      http_filters_insert_before_router: Array<{ typed_config: Record<string, unknown> }>;
    };
    const boot = parse(rendered['envoy/envoy.yaml']!) as Record<string, any>;
    const filter = snippet.http_filters_insert_before_router[0] as Record<string, any>;
    expect(withoutToken(filter)).toEqual(bootstrapExtProc(boot));
    // The processor token goes with it, as a placeholder to replace.
    expect(filter.typed_config.grpc_service.initial_metadata).toEqual([{ key: PROCESSOR_TOKEN_HEADER, value: PROCESSOR_TOKEN_PLACEHOLDER }]);
  });
});

/** The egress config names certificate files only a deployment has: validate it against throwaway ones. */
function withTestCertificates(rel: string): string {
  const text = readFileSync(path.join(repoRoot(), rel), 'utf8');
  if (!text.includes('/etc/envoy/certs/')) return path.join(repoRoot(), rel);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-certs-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=egress',
      '-keyout',
      path.join(dir, 'tls.key'),
      '-out',
      path.join(dir, 'tls.crt'),
    ],
    { stdio: 'ignore' },
  );
  writeFileSync(path.join(dir, 'ca.crt'), readFileSync(path.join(dir, 'tls.crt')));
  const file = path.join(dir, path.basename(rel));
  writeFileSync(file, text.replaceAll('/etc/envoy/certs/', `${dir}/`));
  return file;
}

/** The ext_proc filter of a rendered bootstrap's listener (after the health-check filter). */
function bootstrapExtProc(boot: Record<string, any>): Record<string, unknown> {
  const hcm = boot.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const filters = hcm.http_filters as Array<{ name: string; disabled?: boolean }>;
  const { disabled, ...filter } = filters.find((f) => f.name === 'envoy.filters.http.ext_proc')!;
  // The standalone gateway turns the filter on per virtual host (so that Envoy's replies to
  // requests without a route never wait for the processor); inserted elsewhere it is on as is.
  expect(disabled).toBe(true);
  expect(Object.keys(hcm.route_config.virtual_hosts[0].typed_per_filter_config)).toEqual(['envoy.filters.http.ext_proc']);
  return filter;
}

/** A filter as the bootstrap renders it, i.e. with no processor token (envoy/envoy.yaml has none). */
function withoutToken(filter: Record<string, any>): Record<string, unknown> {
  const copy = structuredClone(filter);
  delete copy.typed_config.grpc_service.initial_metadata;
  return copy;
}

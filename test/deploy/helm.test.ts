/*
 * The Helm chart (deploy/helm/llm-gateway), offline: `helm lint` and `helm template` over the
 * value sets people install with, every rendered document decoded strictly against the Kubernetes
 * and CRD API types (deploy/helm/validate), and the properties that keep the processor safe and
 * drained: non-root, read-only root, gRPC probes, a termination grace longer than the stream
 * grace, secrets only by reference, only Envoy on the gRPC port. The chart's copies of the
 * catalog, routing, tenants, alert rules and mesh manifests must equal their sources.
 *
 * Helm is built from the Go module proxy on first use (minutes, once per machine: Go's build
 * cache keeps it); the validator is rebuilt incrementally on every run.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readEnv } from '../../ext-proc/src/config/env.js';
import { EXT_PROC_SERVICE } from '../../ext-proc/src/contract.js';
import { Chart, chartDir, type Manifest, one, type Rendered, root, selects, tool } from './helm-chart.js';

/** Value sets: what a first install, a production install and each mesh integration set. */
const VALUE_SETS = {
  defaults: {},
  production: {
    processor: { auth: { mode: 'network' } },
    autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 12 },
    networkPolicy: { enabled: true },
    serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
    prometheusRule: { enabled: true },
    prometheusAdapter: { configMap: { enabled: true } },
    envoyPodMonitor: { enabled: true },
  },
  istio: {
    processor: { auth: { mode: 'network' } },
    networkPolicy: { enabled: true },
    istio: {
      enabled: true,
      namespace: 'mesh-gateways',
      gatewaySelector: { istio: 'llm-egress' },
      gatewayService: 'llm-egress.mesh-gateways.svc.cluster.local',
    },
  },
  envoyGateway: {
    processor: { auth: { mode: 'network' }, fallbackChains: false },
    networkPolicy: { enabled: true },
    envoyGateway: { enabled: true, gateway: { name: 'public', namespace: 'edge' } },
  },
  externalSecrets: {
    secrets: {
      name: 'gw-core',
      processorToken: { secretName: 'gw-processor', key: 'token' },
      routeContext: { enabled: true, secretName: 'gw-route', key: 'secret' },
      gatewayKeys: { enabled: true, secretName: 'gw-seed-keys', key: 'keys' },
      masterKey: { enabled: true, secretName: 'gw-master', key: 'key' },
      providerKeys: { secretName: 'gw-providers', optional: true, items: [{ env: 'GROQ_API_KEY', secretName: 'groq', key: 'api-key' }] },
    },
    redis: { existingSecret: { name: 'redis-auth', key: 'url' } },
    database: { existingSecret: { name: 'ledger-db', key: 'url' } },
    ledger: { existingClaim: 'gw-ledger' },
    processor: { env: { PII_MODE: 'redact', CACHE_TTL_SECONDS: 600 } },
  },
} as const;
type SetName = keyof typeof VALUE_SETS;

/** Names whose values are secret material: never a literal `value` in a manifest. */
const SECRET_ENV = /^(PROCESSOR_TOKEN|ROUTE_CONTEXT_SECRET|GATEWAY_KEYS|GATEWAY_MASTER_KEY|DATABASE_URL|REDIS_URL|[A-Z0-9_]+_API_KEY)$/;

let chart: Chart;
const rendered = {} as Record<SetName, Rendered>;

beforeAll(() => {
  chart = new Chart(tool('helm.sh'), tool('k8s-validate.sh'));
  for (const name of Object.keys(VALUE_SETS) as SetName[]) rendered[name] = chart.template(VALUE_SETS[name]);
}, 30 * 60_000);

afterAll(() => chart?.close());

/** The processor's Deployment (the ledger writer may be the other one). */
const processor = (docs: Manifest[]): Manifest => {
  const found = docs.filter((d) => d.kind === 'Deployment' && d.metadata.labels?.['app.kubernetes.io/component'] === 'ext-proc');
  if (found.length !== 1) throw new Error(`expected one processor Deployment, found ${found.length}`);
  return found[0]!;
};
const podSpec = (docs: Manifest[]): any => processor(docs).spec.template.spec;
const container = (docs: Manifest[]): any => podSpec(docs).containers[0];
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
const envOf = (docs: Manifest[]): EnvVar[] => container(docs).env;
const envValue = (docs: Manifest[], name: string) => envOf(docs).find((e) => e.name === name)?.value;
const kinds = (docs: Manifest[]) => docs.map((d) => d.kind).sort();

describe('helm lint and template', () => {
  it.each(Object.keys(VALUE_SETS) as SetName[])('lints cleanly with the %s values', (name) => {
    const r = chart.lint(VALUE_SETS[name]);
    expect(r.stderr + r.stdout, name).toContain('0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it('renders what each value set turns on, and nothing else', () => {
    const base = ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount'];
    expect(kinds(rendered.defaults.docs)).toEqual(base);
    expect(kinds(rendered.production.docs)).toEqual(
      [...base, 'ConfigMap', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodMonitor', 'ServiceMonitor', ...chartAlerts().map(() => 'PrometheusRule')].sort(),
    );
    expect(kinds(rendered.istio.docs)).toEqual(
      [...base, 'NetworkPolicy', 'DestinationRule', 'EnvoyFilter', 'Gateway', 'ServiceEntry', 'VirtualService'].sort(),
    );
    expect(new Set(kinds(rendered.envoyGateway.docs))).toEqual(
      new Set([...base, 'NetworkPolicy', 'Backend', 'BackendTLSPolicy', 'HTTPRoute', 'EnvoyExtensionPolicy']),
    );
    // Redis and a database: the ledger writer too.
    expect(kinds(rendered.externalSecrets.docs)).toEqual([...base, 'Deployment'].sort());
  });
});

describe('every rendered document against the API types (deploy/helm/validate)', () => {
  it.each(Object.keys(VALUE_SETS) as SetName[])('%s: each document decodes strictly and passes its checks', (name) => {
    const report = chart.validate(rendered[name].text);
    const problems = report.documents.flatMap((d) => (d.errors ?? []).map((e) => `${d.source} ${d.kind}/${d.name}: ${e}`));
    expect(problems).toEqual([]);
    expect(report.exitCode).toBe(0);
    // Every document was looked at, under the kind Helm rendered.
    expect(report.documents.map((d) => d.kind).sort()).toEqual(kinds(rendered[name].docs));
  });

  it('refuses what the API server would: an unknown field, a wrong type, a kind it has no schema for', () => {
    const text = rendered.defaults.text;
    const cases: [string, string, RegExp][] = [
      ['misspelt field', text.replace('revisionHistoryLimit:', 'revisionHistoryLimt:'), /unknown field "spec\.revisionHistoryLimt"/],
      ['wrong type', text.replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: "yes"'), /readOnlyRootFilesystem/],
      ['bad port name', text.replace('targetPort: grpc', 'targetPort: grpc_over_h2_plaintext'), /targetPort/],
      ['unknown kind', `${text}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n`, /no schema for apiVersion "v1" kind "Secret"/],
    ];
    for (const [what, broken, message] of cases) {
      const report = chart.validate(broken);
      expect(report.exitCode, what).toBe(1);
      expect(report.documents.flatMap((d) => d.errors ?? []).join('\n'), what).toMatch(message);
    }
  });

  it('checks the mesh resources too: an Istio enum, an EnvoyFilter field, an Envoy Gateway field', () => {
    const cases: [string, string, RegExp][] = [
      ['istio enum', rendered.istio.text.replace('location: MESH_EXTERNAL', 'location: MESH_OUTSIDE'), /invalid value for enum field location/],
      ['envoyfilter field', rendered.istio.text.replace('configPatches:', 'configPatchez:'), /unknown field "configPatchez"/],
      [
        'extension policy field',
        rendered.envoyGateway.text.replace('failOpen: false', 'failOpen: false\n    failClosed: true'),
        /unknown field "spec\.extProc\[0\]\.failClosed"/,
      ],
    ];
    for (const [what, broken, message] of cases) {
      const report = chart.validate(broken);
      expect(report.exitCode, what).toBe(1);
      expect(report.documents.flatMap((d) => d.errors ?? []).join('\n'), what).toMatch(message);
    }
  });
});

describe('the processor Deployment', () => {
  it.each(Object.keys(VALUE_SETS) as SetName[])('%s: every pod runs as non-root with a read-only root filesystem and no privileges', (name) => {
    const deployments = rendered[name].docs.filter((d) => d.kind === 'Deployment');
    expect(deployments.length).toBeGreaterThan(0);
    for (const d of deployments) checkLockedDown(d.spec.template.spec);
  });

  function checkLockedDown(pod: any): void {
    const c = pod.containers[0];
    expect(pod.containers).toHaveLength(1);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
    // Writable paths are volumes of the pod's own: emptyDirs, or the ledger's claim.
    const volumes = new Map<string, Record<string, unknown>>(pod.volumes.map((v: { name: string }) => [v.name, v]));
    for (const m of c.volumeMounts as { name: string; readOnly?: boolean; mountPath: string }[]) {
      const v = volumes.get(m.name);
      expect(v, m.name).toBeDefined();
      if (!m.readOnly) expect(v!.emptyDir ?? v!.persistentVolumeClaim, `${m.mountPath} is writable`).toBeDefined();
    }
    expect(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain('/tmp');
  }

  it('probes over gRPC health: readiness on the ext_proc service (NOT_SERVING while draining), liveness and startup on the server', () => {
    const c = container(rendered.defaults.docs);
    const grpcPort = c.ports.find((p: { name: string }) => p.name === 'grpc').containerPort;
    expect(c.readinessProbe.grpc).toEqual({ port: grpcPort, service: EXT_PROC_SERVICE });
    expect(c.livenessProbe.grpc).toEqual({ port: grpcPort });
    expect(c.startupProbe.grpc).toEqual({ port: grpcPort });
    for (const p of [c.readinessProbe, c.livenessProbe, c.startupProbe])
      expect(Object.keys(p).filter((k) => ['exec', 'httpGet', 'tcpSocket'].includes(k))).toEqual([]);
    expect(String(grpcPort)).toBe(envValue(rendered.defaults.docs, 'GRPC_PORT'));
  });

  it.each(Object.keys(VALUE_SETS) as SetName[])('%s: gives streams longer to finish than the processor drains them', (name) => {
    const docs = rendered[name].docs;
    const graceMs = Number(envValue(docs, 'SHUTDOWN_GRACE_MS'));
    const preStop = container(docs).lifecycle?.preStop?.sleep?.seconds ?? 0;
    // The primary waits 2 s beyond the grace for its workers (ext-proc/src/workers/primary.ts).
    expect(podSpec(docs).terminationGracePeriodSeconds).toBeGreaterThan(graceMs / 1000 + 2 + preStop);
  });

  it("defaults the stream grace to the processor's own default", () => {
    expect(Number(envValue(rendered.defaults.docs, 'SHUTDOWN_GRACE_MS'))).toBe(readEnv({}).SHUTDOWN_GRACE_MS);
  });

  it.each(Object.keys(VALUE_SETS) as SetName[])('%s: sets an environment the processor accepts', (name) => {
    // Secret references stand for values of a valid shape; the processor's own schema judges the rest.
    const shaped: Record<string, string> = { REDIS_URL: 'redis://redis:6379', DATABASE_URL: 'postgres://ledger@db:5432/ledger' };
    const env: Record<string, string> = {};
    for (const e of envOf(rendered[name].docs)) env[e.name] = e.value ?? shaped[e.name] ?? 'x'.repeat(40);
    expect(() => readEnv(env)).not.toThrow();
    expect(env.GRPC_HOST).toBe('0.0.0.0');
  });

  it('reads the configuration files from the mounted ConfigMap', () => {
    const docs = rendered.defaults.docs;
    const config = one(docs, 'ConfigMap', 'llm-gateway-ext-proc-config');
    const mount = container(docs).volumeMounts.find((m: { name: string }) => m.name === 'config');
    const volume = podSpec(docs).volumes.find((v: { name: string }) => v.name === 'config');
    expect(volume.configMap.name).toBe(config.metadata.name);
    // A directory mount (no subPath), so a changed ConfigMap reaches the pod.
    expect(mount.subPath).toBeUndefined();
    for (const [variable, file] of [
      ['CATALOG_PATH', 'catalog.yaml'],
      ['ROUTING_PATH', 'routing.yaml'],
      ['TENANTS_PATH', 'tenants.yaml'],
    ]) {
      expect(envValue(docs, variable!)).toBe(`${mount.mountPath}/${file}`);
      expect(config.data?.[file!], file).toBeTruthy();
    }
    expect(config.data?.['catalog.yaml']).toBe(readFileSync(path.join(root, 'models', 'catalog.yaml'), 'utf8').trimEnd());
    expect(config.data?.['tenants.yaml']).toBe(readFileSync(path.join(root, 'models', 'tenants.example.yaml'), 'utf8').trimEnd());
  });

  it('takes a file from values instead of the chart copy; rolls the pods on a change only when asked (the processor reloads its files)', () => {
    const catalog = 'providers: {}\nmodels: {}\n';
    const docs = chart.template({ config: { catalog: { content: catalog }, tenants: { enabled: false } } }).docs;
    const config = one(docs, 'ConfigMap');
    expect(config.data?.['catalog.yaml']).toBe(catalog.trimEnd());
    expect(config.data?.['tenants.yaml']).toBeUndefined();
    expect(envValue(docs, 'TENANTS_PATH')).toBeUndefined();
    const checksum = (d: Manifest[]) => processor(d).spec.template.metadata.annotations?.['checksum/config'];
    expect(checksum(docs)).toBeUndefined();
    const rolled = (content: string) => checksum(chart.template({ config: { catalog: { content }, rolloutOnChange: true } }).docs);
    expect(rolled(catalog)).toMatch(/^[0-9a-f]{64}$/);
    expect(rolled(catalog)).not.toBe(rolled(`${catalog}# changed\n`));
  });
});

describe('the ledger writer', () => {
  const writer = (docs: Manifest[]) => docs.find((d) => d.kind === 'Deployment' && d.metadata.labels?.['app.kubernetes.io/component'] === 'ledger-writer');

  it('runs when the ledger goes to PostgreSQL (Redis and a database set), and only then', () => {
    expect(writer(rendered.defaults.docs)).toBeUndefined();
    expect(writer(chart.template({ database: { existingSecret: { name: 'db', key: 'url' } } }).docs)).toBeUndefined();
    expect(writer(chart.template({ redis: { url: 'redis://r:6379' } }).docs)).toBeUndefined();
    const both = { redis: { url: 'redis://r:6379' }, database: { existingSecret: { name: 'db', key: 'url' } } };
    expect(writer(chart.template({ ...both, ledgerWriter: { enabled: false } }).docs)).toBeUndefined();
    expect(writer(chart.template(both).docs)).toBeDefined();
  });

  it("reads the processors' stream with their Redis and database, and runs the project's writer", () => {
    const docs = rendered.externalSecrets.docs;
    const w = writer(docs)!;
    const c = w.spec.template.spec.containers[0];
    const ref = (list: EnvVar[], name: string) => list.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    for (const name of ['REDIS_URL', 'DATABASE_URL']) expect(ref(c.env, name), name).toEqual(ref(envOf(docs), name));
    // Its own pods, not the processor's: no Service, PDB or NetworkPolicy selects them.
    expect(selects(one(docs, 'Service').spec.selector, w.spec.template.metadata.labels)).toBe(false);
    // `npm run ledger` runs the same file.
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.ledger).toContain(`node ${c.command[1]}`);
    expect(c.command[0]).toBe('node');
    expect(existsSync(path.join(root, c.command[1].replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
  });
});

describe('secrets', () => {
  it.each(Object.keys(VALUE_SETS) as SetName[])('%s: come only from Secret references, never a literal value or a Secret of the chart', (name) => {
    const docs = rendered[name].docs;
    expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
    const env: EnvVar[] = docs
      .filter((d) => d.kind === 'Deployment')
      .flatMap((d) => d.spec.template.spec.containers.flatMap((c: { env?: EnvVar[] }) => c.env ?? []));
    for (const e of env.filter((e) => SECRET_ENV.test(e.name))) {
      expect(e.value, e.name).toBeUndefined();
      expect(e.valueFrom?.secretKeyRef?.name, e.name).toBeTruthy();
    }
  });

  it('by default: the processor token and route-context secret from the Secret "llm-gateway", provider keys from "llm-gateway-providers"', () => {
    const env = envOf(rendered.defaults.docs);
    expect(env.find((e) => e.name === 'PROCESSOR_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'llm-gateway', key: 'processor-token' });
    expect(env.find((e) => e.name === 'ROUTE_CONTEXT_SECRET')?.valueFrom?.secretKeyRef).toEqual({ name: 'llm-gateway', key: 'route-context-secret' });
    expect(container(rendered.defaults.docs).envFrom).toEqual([{ secretRef: { name: 'llm-gateway-providers', optional: false } }]);
  });

  it('with existing secret names: each entry from its own Secret, the master key as a mounted file', () => {
    const docs = rendered.externalSecrets.docs;
    const ref = (name: string) => envOf(docs).find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    expect(ref('PROCESSOR_TOKEN')).toEqual({ name: 'gw-processor', key: 'token' });
    expect(ref('ROUTE_CONTEXT_SECRET')).toEqual({ name: 'gw-route', key: 'secret' });
    expect(ref('GATEWAY_KEYS')).toEqual({ name: 'gw-seed-keys', key: 'keys' });
    expect(ref('REDIS_URL')).toEqual({ name: 'redis-auth', key: 'url' });
    expect(ref('DATABASE_URL')).toEqual({ name: 'ledger-db', key: 'url' });
    expect(ref('GROQ_API_KEY')).toEqual({ name: 'groq', key: 'api-key' });
    expect(container(docs).envFrom).toEqual([{ secretRef: { name: 'gw-providers', optional: true } }]);
    // The master key is a file (GATEWAY_MASTER_KEY_FILE), not an environment variable.
    expect(ref('GATEWAY_MASTER_KEY')).toBeUndefined();
    const file = envValue(docs, 'GATEWAY_MASTER_KEY_FILE')!;
    const volume = podSpec(docs).volumes.find((v: { name: string }) => v.name === 'master-key');
    expect(volume.secret).toMatchObject({ secretName: 'gw-master', items: [{ key: 'key', path: path.basename(file) }] });
    const mount = container(docs).volumeMounts.find((m: { name: string }) => m.name === 'master-key');
    expect(mount).toMatchObject({ mountPath: path.dirname(file), readOnly: true });
    expect(podSpec(docs).volumes.find((v: { name: string }) => v.name === 'ledger').persistentVolumeClaim).toEqual({ claimName: 'gw-ledger' });
  });

  it('refuses secret material as values: in processor.env, or a password inside a Redis or database URL', () => {
    const refused: object[] = [
      { processor: { env: { OPENAI_API_KEY: 'sk-live-0123456789abcdef' } } },
      { processor: { env: { PROCESSOR_TOKEN: 'a-literal-token-0123456789' } } },
      { processor: { env: { GRPC_PORT: '1' } } },
      { redis: { url: 'redis://:hunter2hunter2@redis:6379' } },
      { redis: { url: 'redis://default:hunter2hunter2@redis:6379' } },
      { database: { url: 'postgres://ledger:hunter2hunter2@db:5432/ledger' } },
      { database: { url: 'postgres://ledger@db:5432/ledger?password=hunter2hunter2' } },
    ];
    for (const values of refused) {
      const r = chart.tryTemplate(values);
      expect(r.status, JSON.stringify(values)).not.toBe(0);
      expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    }
    // A URL without a password is fine as a value.
    const docs = chart.template({ redis: { url: 'redis://redis.cache:6379' }, database: { url: 'postgres://ledger@db:5432/ledger' } }).docs;
    expect(envValue(docs, 'REDIS_URL')).toBe('redis://redis.cache:6379');
  });

  it('ships no key-shaped string in the chart itself', () => {
    const files = listFiles(chartDir);
    expect(files.length).toBeGreaterThan(10);
    const keyShaped = /\b(sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,}|gsk_[A-Za-z0-9]{20,})|-----BEGIN [A-Z ]*PRIVATE KEY-----/;
    expect(files.filter((f) => keyShaped.test(readFileSync(f, 'utf8'))).map((f) => path.relative(root, f))).toEqual([]);
  });
});

describe('Service, autoscaler, disruption budget', () => {
  it('exposes gRPC and metrics on a headless Service selecting the processor pods', () => {
    const docs = rendered.defaults.docs;
    const svc = one(docs, 'Service');
    const pods = processor(docs).spec.template.metadata.labels;
    expect(svc.spec.clusterIP).toBe('None');
    expect(selects(svc.spec.selector, pods)).toBe(true);
    const names = container(docs).ports.map((p: { name: string }) => p.name);
    expect(svc.spec.ports.map((p: { name: string; targetPort: string }) => [p.name, p.targetPort])).toEqual([
      ['grpc', 'grpc'],
      ['metrics', 'metrics'],
    ]);
    expect(names).toEqual(['grpc', 'metrics']);
    expect(svc.metadata.name).toBe('llm-gateway-ext-proc');
  });

  it('scales on CPU and on ext_proc streams in flight, a metric the processor serves and the adapter rule names', () => {
    const docs = rendered.production.docs;
    const hpa = one(docs, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: processor(docs).metadata.name });
    expect(hpa.spec.metrics[0]).toMatchObject({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } });
    const pods = hpa.spec.metrics.find((m: { type: string }) => m.type === 'Pods').pods;
    expect(pods.metric.name).toBe('llm_gateway_ext_proc_streams_in_flight');
    expect(pods.target.type).toBe('AverageValue');
    // The processor itself registers the gauge under that name.
    expect(grepSource(`'${pods.metric.name}'`)).not.toEqual([]);
    // With autoscaling the HPA owns the replica count.
    expect(processor(docs).spec.replicas).toBeUndefined();

    const adapter = parse(one(docs, 'ConfigMap', 'llm-gateway-prometheus-adapter').data?.['config.yaml'] ?? '') as {
      rules: { seriesQuery: string; resources: { overrides: Record<string, { resource: string }> }; name: { as: string }; metricsQuery: string }[];
    };
    expect(adapter.rules).toHaveLength(1);
    const rule = adapter.rules[0]!;
    expect(rule.seriesQuery).toMatch(new RegExp(`^${pods.metric.name}\\{`));
    expect(rule.name.as).toBe(pods.metric.name);
    expect(rule.resources.overrides).toEqual({ namespace: { resource: 'namespace' }, pod: { resource: 'pod' } });
    expect(rule.metricsQuery).toContain('<<.Series>>');
  });

  it('keeps a disruption budget over the same pods', () => {
    const docs = rendered.defaults.docs;
    const pdb = one(docs, 'PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels, processor(docs).spec.template.metadata.labels)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);
    const floor = one(chart.template({ podDisruptionBudget: { minAvailable: '50%' } }).docs, 'PodDisruptionBudget');
    expect(floor.spec).toMatchObject({ minAvailable: '50%' });
    expect(floor.spec.maxUnavailable).toBeUndefined();
  });
});

describe('NetworkPolicy', () => {
  it('admits only Envoy to the gRPC port and only Prometheus to the metrics port', () => {
    const docs = rendered.production.docs;
    const np = one(docs, 'NetworkPolicy');
    expect(selects(np.spec.podSelector.matchLabels, processor(docs).spec.template.metadata.labels)).toBe(true);
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    const rules = np.spec.ingress as { ports: { port: string }[]; from?: { podSelector?: unknown; namespaceSelector?: unknown }[] }[];
    expect(rules.map((r) => r.ports.map((p) => p.port))).toEqual([['grpc'], ['metrics']]);
    // A rule without peers would admit everyone; every peer names its pods.
    for (const r of rules) {
      expect(r.from?.length).toBeGreaterThan(0);
      for (const peer of r.from ?? []) expect(peer.podSelector).toBeTruthy();
    }
    const values = parse(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')).networkPolicy;
    expect(rules[0]!.from).toEqual([{ namespaceSelector: values.envoy.namespaceSelector, podSelector: values.envoy.podSelector }]);
    expect(rules[1]!.from).toEqual([{ namespaceSelector: values.prometheus.namespaceSelector, podSelector: values.prometheus.podSelector }]);
  });

  it("also admits Istio's egress gateway when the Istio manifests are on", () => {
    const np = one(rendered.istio.docs, 'NetworkPolicy');
    expect(np.spec.ingress[0].from).toContainEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mesh-gateways' } },
      podSelector: { matchLabels: { istio: 'llm-egress' } },
    });
  });

  it('is required when the processor takes streams without a token', () => {
    const r = chart.tryTemplate({ processor: { auth: { mode: 'network' } } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('networkPolicy.enabled=true');
    expect(envValue(rendered.production.docs, 'GRPC_NETWORK_RESTRICTED')).toBe('true');
    expect(envOf(rendered.production.docs).find((e) => e.name === 'PROCESSOR_TOKEN')).toBeUndefined();
  });
});

describe('monitoring', () => {
  it('scrapes the metrics port under the job name the dashboards, alerts and scrape config use', () => {
    const docs = rendered.production.docs;
    const sm = one(docs, 'ServiceMonitor');
    const svc = one(docs, 'Service');
    expect(selects(sm.spec.selector.matchLabels, svc.metadata.labels)).toBe(true);
    expect(sm.metadata.labels?.release).toBe('kube-prometheus-stack');
    const endpoint = sm.spec.endpoints[0];
    expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
    expect(endpoint.path).toBe('/metrics');
    const job = endpoint.relabelings.find((r: { targetLabel: string }) => r.targetLabel === 'job').replacement;
    const scrape = parse(readFileSync(path.join(root, 'grafana', 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] };
    expect(scrape.scrape_configs.map((s) => s.job_name)).toContain(job);
    expect(alertText()).toContain(`job="${job}"`);
    const envoyJob = one(docs, 'PodMonitor').spec.podMetricsEndpoints[0].relabelings[0].replacement;
    expect(scrape.scrape_configs.map((s) => s.job_name)).toContain(envoyJob);
  });

  it("carries every alert file of the chart's copy as a PrometheusRule, unchanged", () => {
    // The copy's equality with grafana/alerts is the drift test's (below).
    const copies = path.join(chartDir, 'files', 'alerts');
    const rules = rendered.production.docs.filter((d) => d.kind === 'PrometheusRule');
    const files = chartAlerts();
    expect(files.length).toBeGreaterThan(0);
    expect(rules.map((r) => r.metadata.name).sort()).toEqual(files.map((f) => `llm-gateway-${f.replace(/\.yaml$/, '')}`).sort());
    for (const f of files) {
      const rule = one(rules, 'PrometheusRule', `llm-gateway-${f.replace(/\.yaml$/, '')}`);
      expect(rule.spec, f).toEqual(parse(readFileSync(path.join(copies, f), 'utf8')));
    }
  });
});

describe('Istio and Envoy Gateway manifests', () => {
  it("Istio: in the egress gateway's namespace, selecting its pods, with the processor reached at this release's Service and no token", () => {
    const docs = rendered.istio.docs;
    const mesh = docs.filter((d) => d.apiVersion.startsWith('networking.istio.io/'));
    expect(mesh.map((d) => d.metadata.namespace)).toEqual(mesh.map(() => 'mesh-gateways'));
    expect(one(docs, 'Gateway').spec.selector).toEqual({ istio: 'llm-egress' });
    const filter = one(docs, 'EnvoyFilter');
    expect(filter.spec.workloadSelector).toEqual({ labels: { istio: 'llm-egress' } });
    const extProc = filter.spec.configPatches.find(
      (p: { applyTo: string; patch: { value: { name?: string } } }) => p.applyTo === 'CLUSTER' && p.patch.value.name === 'ext_proc',
    );
    const address = extProc.patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    expect(address).toEqual({ address: 'llm-gateway-ext-proc.llm-gateway.svc.cluster.local', port_value: 50051 });
    const text = JSON.stringify(mesh);
    expect(text).not.toContain('__PROCESSOR_TOKEN__');
    expect(text).not.toContain('x-gateway-processor-token');
    expect(text).not.toContain('istio-egressgateway.istio-system');
    expect(one(docs, 'DestinationRule').spec.host).toBe('llm-egress.mesh-gateways.svc.cluster.local');
  });

  it('Istio with the token: read from the cluster at install time, so an offline render says so and stops', () => {
    const r = chart.tryTemplate({ istio: { enabled: true } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/needs the processor token, read at install time from Secret llm-gateway\/llm-gateway/);
  });

  it("Envoy Gateway: in the release namespace, on the configured Gateway, calling this release's Service", () => {
    const docs = chart.template(VALUE_SETS.envoyGateway, { release: 'edge-llm', namespace: 'ai' }).docs;
    const mesh = docs.filter((d) => d.apiVersion.startsWith('gateway.'));
    expect(mesh.length).toBeGreaterThan(3);
    expect(new Set(mesh.map((d) => d.metadata.namespace))).toEqual(new Set(['ai']));
    expect(one(docs, 'HTTPRoute').spec.parentRefs).toEqual([{ name: 'public', namespace: 'edge' }]);
    const policy = one(docs, 'EnvoyExtensionPolicy');
    const svc = one(docs, 'Service');
    expect(policy.spec.extProc[0].backendRefs).toEqual([{ name: svc.metadata.name, port: 50051 }]);
    expect(svc.metadata.name).toBe('edge-llm-llm-gateway-ext-proc');
    expect(envValue(docs, 'FALLBACK_CHAINS')).toBe('false');
  });

  it('Envoy Gateway: refused with the processor token (it cannot send one) or with fallback chains', () => {
    const token = chart.tryTemplate({ envoyGateway: { enabled: true }, networkPolicy: { enabled: true }, processor: { fallbackChains: false } });
    expect(token.status).not.toBe(0);
    expect(token.stderr).toContain('processor.auth.mode=network');
    const chains = chart.tryTemplate({ envoyGateway: { enabled: true }, networkPolicy: { enabled: true }, processor: { auth: { mode: 'network' } } });
    expect(chains.status).not.toBe(0);
    expect(chains.stderr).toContain('processor.fallbackChains=false');
  });
});

describe('NOTES.txt', () => {
  it.each(Object.keys(VALUE_SETS) as SetName[])('%s: renders, naming the Service and every Secret the pods read', (name) => {
    const notes = chart.notes(VALUE_SETS[name]);
    expect(notes).toContain('llm-gateway-ext-proc.llm-gateway.svc.cluster.local:50051');
    for (const e of envOf(rendered[name].docs)) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) expect(notes, e.name).toContain(`${ref.name}: ${ref.key}`);
    }
    for (const from of container(rendered[name].docs).envFrom ?? []) expect(notes).toContain(`${from.secretRef.name}: one entry per provider key`);
  });

  it('warns about what is missing: Redis, the adapter for the streams metric', () => {
    expect(chart.notes({})).toMatch(/Without Redis/);
    expect(chart.notes({ redis: { url: 'redis://r:6379' } })).not.toMatch(/Without Redis/);
    expect(chart.notes({ autoscaling: { enabled: true } })).toMatch(/prometheus-adapter must\nserve it/);
  });
});

describe('rules across values', () => {
  it('refuses a termination grace that would kill streams mid-drain', () => {
    const r = chart.tryTemplate({ terminationGracePeriodSeconds: 30 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/terminationGracePeriodSeconds=30 must be larger than .* = 37/);
    const ok = chart.template({ terminationGracePeriodSeconds: 38 }).docs;
    expect(podSpec(ok).terminationGracePeriodSeconds).toBe(38);
  });

  it('refuses several replicas with fallback chains but no shared route-context secret', () => {
    const r = chart.tryTemplate({ secrets: { routeContext: { enabled: false } } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ROUTE_CONTEXT_SECRET');
    expect(chart.tryTemplate({ replicaCount: 1, secrets: { routeContext: { enabled: false } } }).status).toBe(0);
  });

  it('refuses an autoscaler whose maximum is below its minimum', () => {
    const r = chart.tryTemplate({ autoscaling: { enabled: true, minReplicas: 4, maxReplicas: 3 } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('autoscaling.maxReplicas must be at least autoscaling.minReplicas');
  });

  it('refuses a misspelt value', () => {
    const r = chart.tryTemplate({ autoscaling: { enabeld: true } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/enabeld/);
  });
});

describe("the chart's copies of repository files (deploy/helm/synced-files.txt)", () => {
  const pairs = readFileSync(path.join(root, 'deploy', 'helm', 'synced-files.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(/\s+/) as [string, string]);

  it('lists the catalog, routing, tenants, alerts and mesh manifests', () => {
    expect(pairs.map(([s]) => s)).toEqual(
      expect.arrayContaining([
        'models/catalog.yaml',
        'models/routing.yaml',
        'models/tenants.example.yaml',
        'grafana/alerts/*.yaml',
        'envoy/istio/egress-gateway.yaml',
      ]),
    );
  });

  it.each(pairs.map(([s, c]) => ({ source: s, copy: c })))('$copy equals $source (refresh: deploy/helm/sync-files.sh)', ({ source, copy }) => {
    const fix = 'stale copy: run deploy/helm/sync-files.sh';
    if (source.endsWith('/*.yaml')) {
      const dir = source.slice(0, -'/*.yaml'.length);
      const sources = yamlFiles(path.join(root, dir));
      expect(yamlFiles(path.join(chartDir, copy)), fix).toEqual(sources);
      for (const f of sources)
        expect(readFileSync(path.join(chartDir, copy, f), 'utf8'), `${copy}/${f}: ${fix}`).toBe(readFileSync(path.join(root, dir, f), 'utf8'));
    } else {
      expect(readFileSync(path.join(chartDir, copy), 'utf8'), fix).toBe(readFileSync(path.join(root, source), 'utf8'));
    }
  });
});

const yamlFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')) : []).sort();

/** The alert files the chart carries (files/alerts). */
function chartAlerts(): string[] {
  return yamlFiles(path.join(chartDir, 'files', 'alerts'));
}

/** The repository's alert rules (grafana/alerts), as text. */
function alertText(): string {
  const dir = path.join(root, 'grafana', 'alerts');
  return yamlFiles(dir)
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Files under ext-proc/src (tests aside) containing a string. */
function grepSource(needle: string): string[] {
  const src = path.join(root, 'ext-proc', 'src');
  return listFiles(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && readFileSync(f, 'utf8').includes(needle));
}

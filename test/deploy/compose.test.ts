/*
 * No Docker engine runs here, so docker-compose.yml must be right by construction: this test
 * checks images, ports, mounted files and the wiring between services.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../ext-proc/src/config/paths.js';

interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: string[] | Record<string, unknown>;
}

const root = repoRoot();
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const services = compose.services;

/** Expands `${VAR:-default}` with the default, as compose does when VAR is unset. */
const expandDefault = (s: string) => s.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
/** A required variable (`${X:?msg}`) filled with a stand-in, as `docker compose` would with a value set. */
const expandRequired = (s: string) => s.replace(/\$\{[A-Z_]+:\?[^}]*\}/g, 'set-in-env');

describe('docker-compose.yml', () => {
  it('has the stack DESIGN §2 lists', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['envoy', 'ext-proc', 'redis', 'prometheus', 'grafana']));
  });

  it('pins every image to a version', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toBeTruthy();
      expect(s.image, name).toMatch(/:[\w.-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
  });

  it('mounts only files and folders that exist, and named volumes it declares', () => {
    const named = Object.keys((compose as { volumes?: Record<string, unknown> }).volumes ?? {});
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const host = expandDefault(v).split(':')[0]!;
        if (!host.startsWith('.') && !host.startsWith('/')) {
          expect(named, `${name}: volume ${host}`).toContain(host);
          continue;
        }
        expect(existsSync(path.join(root, host)), `${name}: ${host}`).toBe(true);
      }
    }
    // The documented alternative Envoy config exists too.
    expect(existsSync(path.join(root, 'envoy', 'compose.yaml'))).toBe(true);
  });

  it("publishes only the gateway to the network, and the dashboards on the host's loopback only", () => {
    const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => ({ name, p })));
    const open = published.filter(({ p }) => !p.startsWith('127.0.0.1:')).map(({ name, p }) => `${name} ${p}`);
    // Profiles that run real local models publish their own API for the operator's tools.
    expect(open.filter((x) => !/^(ollama|vllm) /.test(x))).toEqual(['envoy 10000:10000']);
    for (const name of ['ext-proc', 'redis', 'postgres', 'ledger']) expect(services[name]!.ports ?? [], name).toEqual([]);
  });

  it('keeps Envoy admin on loopback, requires the processor token, Redis auth and persistence, and a Grafana login', () => {
    for (const file of ['compose-demo.yaml', 'compose.yaml']) {
      const cfg = parse(readFileSync(path.join(root, 'envoy', file), 'utf8')) as Record<string, any>;
      expect(cfg.admin.address.socket_address.address, file).toBe('127.0.0.1');
      const stats = cfg.static_resources.listeners.find((l: { name: string }) => l.name === 'stats');
      expect(stats.address.socket_address.port_value).toBe(9902);
      const routes = stats.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes;
      expect(routes[0].match).toEqual({ path: '/stats/prometheus' });
      const filters = cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters as Array<{ name: string; typed_config: any }>;
      const extProc = filters.find((f) => f.name === 'envoy.filters.http.ext_proc')!.typed_config;
      expect(extProc.grpc_service.initial_metadata).toEqual([{ key: 'x-gateway-processor-token', value: '__PROCESSOR_TOKEN__' }]);
    }
    expect(services.envoy!.environment!.PROCESSOR_TOKEN).toMatch(/\$\{PROCESSOR_TOKEN:\?/);
    expect(services['ext-proc']!.environment!.PROCESSOR_TOKEN).toMatch(/\$\{PROCESSOR_TOKEN:\?/);
    expect(String((services.envoy as { command?: unknown }).command)).toContain('__PROCESSOR_TOKEN__');
    const redisCmd = String((services.redis as { command?: unknown }).command);
    expect(redisCmd).toContain('--requirepass');
    expect(redisCmd).toContain('--appendonly yes');
    expect(services.redis!.volumes!.some((v) => v.endsWith(':/data'))).toBe(true);
    expect(services['ext-proc']!.environment!.REDIS_URL).toContain('${REDIS_PASSWORD:?');
    expect(services.grafana!.environment!.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toMatch(/\$\{GRAFANA_ADMIN_PASSWORD:\?/);
    expect(existsSync(path.join(root, '.env.example'))).toBe(true);
  });

  it('builds the processor image from a Dockerfile whose sources exist', () => {
    const build = services['ext-proc']!.build;
    const ctx = typeof build === 'string' ? build : build!.context;
    const dockerfile = readFileSync(path.join(root, ctx, 'Dockerfile'), 'utf8');
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) expect(existsSync(path.join(root, ctx, src)), src).toBe(true);
    }
    expect(dockerfile).toMatch(/CMD \["node", "dist\/ext-proc\/src\/main.js"\]/);
    // The simulator services reuse that image, and run entry points the build produces.
    for (const name of ['simulator', 'simulator-anthropic', 'simulator-gemini', 'simulator-ollama', 'simulator-vllm']) {
      expect(services[name]!.image).toBe(services['ext-proc']!.image);
      const entry = (services[name]!.command as string[])[1]!;
      expect(existsSync(path.join(root, entry.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), entry).toBe(true);
    }
  });

  it('wires Envoy to the processor and the simulator by service name and port', () => {
    const mount = services.envoy!.volumes!.map((v) => expandDefault(v).split(':')[0]!);
    const envoyConfig = parse(readFileSync(path.join(root, mount[0]!), 'utf8')) as Record<string, any>;
    const clusters = envoyConfig.static_resources.clusters as Array<{ name: string; load_assignment: any }>;
    const addr = (c: { load_assignment: any }) => c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    const extProc = clusters.find((c) => c.name === 'ext_proc')!;
    expect(addr(extProc)).toEqual({ address: 'ext-proc', port_value: 50051 });
    expect(services['ext-proc']!.environment!.GRPC_HOST).toBe('0.0.0.0');
    // Each provider cluster reaches the simulator service of its own wire format.
    for (const [cluster, service] of [
      ['openai', 'simulator'],
      ['groq', 'simulator'],
      ['anthropic', 'simulator-anthropic'],
      ['gemini', 'simulator-gemini'],
      ['ollama', 'simulator-ollama'],
      ['vllm', 'simulator-vllm'],
    ]) {
      const c = clusters.find((x) => x.name === cluster)!;
      expect(addr(c)).toEqual({ address: service, port_value: Number(services[service!]!.environment!.SIM_PORT) });
    }
    // Every provider key the catalog names has a demo default, so every model is offered.
    for (const v of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'GROQ_API_KEY', 'OPENROUTER_API_KEY', 'DEEPSEEK_API_KEY', 'OLLAMA_URLS']) {
      expect(services['ext-proc']!.environment![v], v).toBeTruthy();
    }
    const listener = envoyConfig.static_resources.listeners[0].address.socket_address;
    expect(listener).toEqual({ address: '0.0.0.0', port_value: 10000 });
  });

  it('points the processor at the Redis service', () => {
    const url = new URL(expandRequired(services['ext-proc']!.environment!.REDIS_URL!));
    expect(Object.keys(services)).toContain(url.hostname);
    expect(services[url.hostname]!.image).toMatch(/^redis:/);
  });

  it('runs the usage-ledger writer from the processor image between Redis and PostgreSQL, whose password comes from .env', () => {
    const ledger = services.ledger!;
    expect(ledger.image).toBe(services['ext-proc']!.image);
    expect(ledger.command).toEqual(['node', 'dist/scripts/ledger.js']);
    expect(existsSync(path.join(root, 'scripts', 'ledger.ts'))).toBe(true);
    // The writer and the processor use the same Redis and the same database, by service name.
    expect(ledger.environment!.REDIS_URL).toBe(services['ext-proc']!.environment!.REDIS_URL);
    expect(ledger.environment!.DATABASE_URL).toBe(services['ext-proc']!.environment!.DATABASE_URL);
    const db = new URL(expandRequired(ledger.environment!.DATABASE_URL!));
    expect(db.protocol).toBe('postgres:');
    expect(db.hostname).toBe('postgres');
    const pgService = services[db.hostname]!;
    expect(pgService.image).toMatch(/^postgres:/);
    expect(db.username).toBe(pgService.environment!.POSTGRES_USER);
    expect(db.pathname).toBe(`/${pgService.environment!.POSTGRES_DB}`);
    expect(pgService.environment!.POSTGRES_PASSWORD).toMatch(/\$\{POSTGRES_PASSWORD:\?/);
    expect(ledger.environment!.DATABASE_URL).toContain('${POSTGRES_PASSWORD:?');
    expect(readFileSync(path.join(root, '.env.example'), 'utf8')).toMatch(/^POSTGRES_PASSWORD=/m);
    expect(pgService.volumes!.some((v) => v.endsWith(':/var/lib/postgresql/data'))).toBe(true);
    expect(ledger.depends_on).toEqual(expect.arrayContaining(['redis', 'postgres']));
    // The image carries the migrations the writer applies, and a ledger folder the processor may write.
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('COPY --from=build /app/ext-proc/src/ledger/migrations ./ext-proc/src/ledger/migrations');
    expect(existsSync(path.join(root, 'ext-proc', 'src', 'ledger', 'migrations', '001_usage_ledger.sql'))).toBe(true);
    expect(services['ext-proc']!.volumes).toEqual(expect.arrayContaining([expect.stringMatching(/:\/app\/data$/)]));
    expect(dockerfile).toMatch(/chown -R node:node \/app\/data/);
  });

  it('scrapes services that exist on the ports they serve', () => {
    const prom = parse(readFileSync(path.join(root, 'grafana', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = prom.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets));
    for (const t of targets) expect(Object.keys(services)).toContain(t.split(':')[0]);
    expect(targets).toEqual(expect.arrayContaining(['ext-proc:9464', 'envoy:9902']));
  });

  it("mounts the alert rules where Prometheus's rule_files look for them", () => {
    const prom = parse(readFileSync(path.join(root, 'grafana', 'prometheus.yml'), 'utf8')) as { rule_files?: string[] };
    const mounts = services.prometheus!.volumes!.map((v) => {
      const [host, container] = v.split(':');
      return { host: host!, container: container! };
    });
    const config = mounts.find((m) => m.host === './grafana/prometheus.yml')!;
    expect(prom.rule_files ?? []).not.toEqual([]);
    for (const pattern of prom.rule_files ?? []) {
      // Relative rule_files resolve against the config file's folder.
      const dir = path.posix.dirname(path.posix.join(path.posix.dirname(config.container), pattern));
      const mount = mounts.find((m) => m.container === dir);
      expect(mount, `${pattern}: nothing mounted at ${dir}`).toBeTruthy();
      const suffix = path.posix.basename(pattern).replace(/^\*/, '');
      expect(readdirSync(path.join(root, mount!.host)).filter((f) => f.endsWith(suffix)).length, pattern).toBeGreaterThan(0);
    }
  });
});

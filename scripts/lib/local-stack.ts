import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadCatalog, type Provider } from '../../ext-proc/src/catalog/load.js';
import { readEnv } from '../../ext-proc/src/config/env.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { startGateway, type Gateway } from '../../ext-proc/src/gateway.js';
import type { Logger } from '../../ext-proc/src/log/logger.js';
import { renderBootstrap, type ExtProcEndpoint, type UpstreamCluster } from '../../envoy/bootstrap.js';
import { chainClusters } from '../../envoy/chains.js';
import type { ProviderFormat } from '../../ext-proc/src/catalog/load.js';
import { startOpenAISimulator, type OpenAISimulator, type OpenAISimulatorOptions } from '../../simulators/openai/server.js';
import { startAnthropicSimulator } from '../../simulators/anthropic/server.js';
import { startGeminiSimulator } from '../../simulators/gemini/server.js';
import { startOllamaSimulator } from '../../simulators/ollama/server.js';
import { startVllmSimulator } from '../../simulators/vllm/server.js';
import { endpointAddress, EndpointAddressError } from '../../ext-proc/src/upstream/pools/address.js';
import { credentialsFromEnv } from '../../ext-proc/src/upstream/resolver.js';
import { startProcessorProcess, type ProcessorProcess } from './processor-process.js';
import { startEnvoy, type EnvoyProcess } from './envoy-process.js';
import { freePort } from './ports.js';

/** The credential the processor sends to the bundled simulators in demo mode. */
export const SIMULATOR_PROVIDER_KEY = 'sk-sim-provider-key';

/** What the local stack and tests use of any format's simulator. */
export interface ProviderSimulator {
  url: string;
  port: number;
  requests: Array<{
    method: string;
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: unknown;
    usage?: { input: number; output: number };
  }>;
  requestCount(): number;
  close(): Promise<void>;
}

/** Options every simulator takes. */
export interface SimulatorOptions {
  latencyMs?: number;
  tokensPerSecond?: number;
  failEvery?: number;
  failStatus?: number;
}

const SIMULATORS: Record<ProviderFormat, (o: SimulatorOptions & { apiKey?: string }) => Promise<ProviderSimulator>> = {
  openai: startOpenAISimulator,
  anthropic: startAnthropicSimulator,
  gemini: startGeminiSimulator,
  ollama: startOllamaSimulator,
};

export interface LocalStackOptions {
  /** Environment the processor reads (provider keys, GATEWAY_KEYS, limits). */
  env: NodeJS.ProcessEnv;
  log: Logger;
  gatewayPort?: number;
  adminPort?: number;
  grpcPort?: number;
  metricsPort?: number;
  /** Force demo mode (simulators) even if provider keys are present. */
  demo?: boolean;
  simulator?: OpenAISimulatorOptions;
  /**
   * Providers that get a simulator of their own (else providers of one format share one), e.g. to
   * make one member of a fallback chain fail while the others answer.
   */
  ownSimulators?: Record<string, SimulatorOptions>;
  /**
   * Local GPU pools in demo mode: the simulators of each pool's endpoints (default one each),
   * by provider id (`ollama`, `vllm`), e.g. `{ vllm: [{ maxNumSeqs: 1 }, {}] }`.
   */
  pools?: Record<string, Array<SimulatorOptions & Record<string, unknown>>>;
  /** Chain attempts silent for this long move on to the next member (default 30 s). */
  attemptIdleTimeoutMs?: number;
  /** Envoy's cap on downstream connections (default the bootstrap's). */
  maxConnections?: number;
  /** Seconds a caller has to send a whole request (default the bootstrap's). */
  requestReceiveTimeoutS?: number;
  /** Mesh identity header forwarded to the processor (set IDENTITY_HEADER in env to the same). */
  identityHeader?: string;
  /** Processor replicas (default 1): each its own gateway instance, sharing only Redis. */
  replicas?: number;
  /**
   * Run the processor as a supervised child process with this many workers (on Unix sockets
   * beside Envoy), as `npm start` does, instead of in this process. `gateway` and `gateways` are
   * then empty.
   */
  processorProcess?: { workers: number };
  /** Where non-LLM paths go (e.g. a test's plain HTTP server). */
  passthrough?: { host: string; port: number };
  accessLog?: string;
  envoyLogLevel?: string;
  onEnvoyStdout?: (chunk: Buffer) => void;
}

export interface LocalStack {
  demo: boolean;
  gatewayUrl: string;
  adminUrl: string;
  metricsUrl: string;
  grpcPort: number;
  /** Gateway keys in force (`tenant:key,...`); in demo mode without GATEWAY_KEYS, a fresh one. */
  gatewayKeys: string;
  /** The simulator shared by the OpenAI-format providers (demo mode). */
  simulator: OpenAISimulator | undefined;
  /** Each provider's simulator, by provider id (demo mode); a pool's first endpoint. */
  simulators: Record<string, ProviderSimulator>;
  /** Every endpoint's simulator of each local pool, by provider id (demo mode). */
  poolSimulators: Record<string, ProviderSimulator[]>;
  /** The in-process processor (absent with `processorProcess`). */
  gateway: Gateway | undefined;
  /** All in-process processor replicas (gateway is the first). */
  gateways: Gateway[];
  /** Providers with a credential (demo mode: every one, through the simulators). */
  providers: string[];
  /** The processor child process (with `processorProcess`). */
  processor: ProcessorProcess | undefined;
  envoy: EnvoyProcess;
  /** Stops taking new connections, lets in-flight calls finish (up to graceMs), then stops all. */
  close(graceMs?: number): Promise<void>;
}

const PROVIDER_KEY_ENVS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'GROQ_API_KEY', 'OPENROUTER_API_KEY', 'DEEPSEEK_API_KEY', 'OLLAMA_URLS'];

export function hasProviderCredentials(env: NodeJS.ProcessEnv): boolean {
  return PROVIDER_KEY_ENVS.some((k) => Boolean(env[k]));
}

/**
 * Starts the whole gateway on loopback: simulators (demo mode), the processor, and Envoy in
 * front. Used by `npm start` and by the end-to-end tests, so both run the same wiring.
 */
export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const root = repoRoot();
  const catalogPath = o.env.CATALOG_PATH ?? path.join(root, 'models', 'catalog.yaml');
  const catalog = loadCatalog(catalogPath);
  const demo = o.demo ?? !hasProviderCredentials(o.env);

  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    let simulator: OpenAISimulator | undefined;
    const simulators: Record<string, ProviderSimulator> = {};
    const poolSimulators: Record<string, ProviderSimulator[]> = {};
    const env: NodeJS.ProcessEnv = { ...o.env };
    const upstreams: UpstreamCluster[] = [];
    let chains: ReturnType<typeof chainClusters>;
    if (demo) {
      simulator = await startOpenAISimulator({ apiKey: SIMULATOR_PROVIDER_KEY, ...o.simulator });
      cleanups.push(() => simulator!.close());
      const shared = new Map<ProviderFormat, ProviderSimulator>([['openai', simulator]]);
      for (const p of catalog.providers.values()) {
        if (!p.apiKeyEnv) {
          // A local pool: one simulator per endpoint, all in the provider's cluster.
          const sims: ProviderSimulator[] = [];
          for (const opts of o.pools?.[p.id] ?? [o.ownSimulators?.[p.id] ?? {}]) {
            const sim = p.id === 'vllm' ? await startVllmSimulator({ loraModules: ['sql-lora'], ...opts }) : await SIMULATORS[p.format](opts);
            cleanups.push(sim.close.bind(sim));
            sims.push(sim);
          }
          simulators[p.id] = sims[0]!;
          poolSimulators[p.id] = sims;
          if (p.enabledEnv) env[p.enabledEnv] = sims.map((x) => x.url).join(',');
          upstreams.push({ name: p.cluster, host: '127.0.0.1', port: sims[0]!.port, tls: false, pool: sims.map((x) => ({ host: '127.0.0.1', port: x.port })) });
          continue;
        }
        const own = o.ownSimulators?.[p.id];
        const apiKey = p.apiKeyEnv ? SIMULATOR_PROVIDER_KEY : undefined;
        let sim = own ? undefined : shared.get(p.format);
        if (!sim) {
          sim = await SIMULATORS[p.format]({ apiKey, ...own });
          cleanups.push(sim.close.bind(sim));
          if (!own) shared.set(p.format, sim);
        }
        simulators[p.id] = sim;
        if (p.apiKeyEnv) env[p.apiKeyEnv] = SIMULATOR_PROVIDER_KEY;
        else if (p.enabledEnv) env[p.enabledEnv] = sim.url;
        upstreams.push({ name: p.cluster, host: '127.0.0.1', port: sim.port, tls: false });
      }
      chains = chainClusters(catalog, (p) => ({ host: '127.0.0.1', port: simulators[p.id]!.port, tls: false }));
    } else {
      for (const p of catalog.providers.values()) upstreams.push({ name: p.cluster, ...realAddress(p, env), pool: poolAddresses(p, env) });
      chains = chainClusters(catalog, (p) => realAddress(p, env));
    }
    // Several processors serve this Envoy's fallback attempts: they must share the signing key.
    env.ROUTE_CONTEXT_SECRET ||= randomBytes(32).toString('hex');
    // Only this Envoy may open processing streams.
    env.PROCESSOR_TOKEN ||= randomBytes(24).toString('hex');
    const gatewayKeys = env.GATEWAY_KEYS || `demo:gw-demo-${randomBytes(12).toString('hex')}`;
    env.GATEWAY_KEYS = gatewayKeys;

    const metricsPort = o.metricsPort ?? (await freePort());
    const config = readEnv({ ...env, GRPC_PORT: String(o.grpcPort ?? 0), METRICS_PORT: String(metricsPort), CATALOG_PATH: catalogPath });
    const gateways: Gateway[] = [];
    let extProc: ExtProcEndpoint;
    const extProcReplicas: ExtProcEndpoint[] = [];
    let metricsUrl: string;
    let inFlight = () => gateways.reduce((n, g) => n + g.inFlight(), 0);
    let stopProcessor: ((graceMs: number) => Promise<void>) | undefined;
    let processor: ProcessorProcess | undefined;
    if (o.processorProcess) {
      const proc = await startProcessorProcess({
        env: { ...env, CATALOG_PATH: catalogPath, GRPC_PORT: String(config.GRPC_PORT) },
        workers: o.processorProcess.workers,
        metricsPort,
        log: o.log,
      });
      stopProcessor = proc.stop;
      processor = proc;
      extProc = { pipe: proc.sockets[0]! };
      extProcReplicas.push(...proc.sockets.slice(1).map((pipe) => ({ pipe })));
      metricsUrl = proc.metricsUrl;
      inFlight = () => 0;
    } else {
      const gateway = await startGateway(config, env, o.log);
      cleanups.push(() => gateway.close(2000));
      gateways.push(gateway);
      for (let i = 1; i < (o.replicas ?? 1); i++) {
        const replica = await startGateway({ ...config, GRPC_PORT: 0, METRICS_PORT: 0 }, env, o.log);
        cleanups.push(() => replica.close(2000));
        gateways.push(replica);
      }
      extProc = { host: '127.0.0.1', port: gateway.grpcPort };
      extProcReplicas.push(...gateways.slice(1).map((g) => ({ host: '127.0.0.1', port: g.grpcPort })));
      metricsUrl = `http://127.0.0.1:${gateway.metricsPort}/metrics`;
    }

    const gatewayPort = o.gatewayPort ?? (await freePort());
    const adminPort = o.adminPort ?? (await freePort());
    const bootstrap = renderBootstrap({
      listenPort: gatewayPort,
      adminPort,
      extProc,
      extProcReplicas,
      processorToken: env.PROCESSOR_TOKEN,
      upstreams,
      passthrough: o.passthrough ? { name: 'passthrough', host: o.passthrough.host, port: o.passthrough.port, tls: false } : undefined,
      maxRequestBytes: config.MAX_REQUEST_BYTES,
      accessLog: o.accessLog,
      chains,
      attemptIdleTimeoutMs: o.attemptIdleTimeoutMs,
      identityHeader: o.identityHeader,
      maxConnections: o.maxConnections,
      requestReceiveTimeoutS: o.requestReceiveTimeoutS,
    });
    // Under npm start's supervision Envoy must not outlive the stack, even one killed outright.
    const envoy = await startEnvoy(bootstrap, {
      adminPort,
      logLevel: o.envoyLogLevel,
      onStdout: o.onEnvoyStdout,
      exitWithParent: o.processorProcess !== undefined,
    });
    cleanups.push(() => envoy.stop());

    const drainingClose = async (graceMs = 2000) => {
      // New connections stop at Envoy first; calls already inside finish through the processor,
      // which itself waits for its streams when it is a child process.
      await fetch(`${envoy.adminUrl}/drain_listeners`, { method: 'POST' }).catch(() => undefined);
      const deadline = Date.now() + graceMs;
      while (inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      await stopProcessor?.(Math.max(0, deadline - Date.now()));
      await close();
    };

    return {
      demo,
      gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
      adminUrl: envoy.adminUrl,
      metricsUrl,
      grpcPort: gateways[0]?.grpcPort ?? 0,
      providers: [...credentialsFromEnv(catalog, env).keys()],
      processor,
      gatewayKeys,
      simulator,
      simulators,
      poolSimulators,
      gateway: gateways[0],
      gateways,
      envoy,
      close: drainingClose,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Every endpoint of a keyless local pool (OLLAMA_URLS, VLLM_URLS), as Envoy's override host needs them: IP:port. */
function poolAddresses(p: Provider, env: NodeJS.ProcessEnv): Array<{ host: string; port: number }> | undefined {
  const list = p.enabledEnv ? env[p.enabledEnv] : undefined;
  if (!list) return undefined;
  try {
    return list.split(',').map((raw) => {
      const { key } = endpointAddress(raw);
      const colon = key.lastIndexOf(':');
      return { host: key.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(key.slice(colon + 1)) };
    });
  } catch (err) {
    // Host names: a plain cluster that resolves them (the processor does not pick endpoints then).
    if (err instanceof EndpointAddressError) return undefined;
    throw err;
  }
}

/** A keyless local backend's address comes from its enabling variable (the first of OLLAMA_URLS). */
function realAddress(p: Provider, env: NodeJS.ProcessEnv): { host: string; port: number; tls: boolean } {
  const first = p.enabledEnv ? env[p.enabledEnv]?.split(',')[0]?.trim() : undefined;
  if (first) {
    try {
      const u = new URL(first);
      return { host: u.hostname, port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80), tls: u.protocol === 'https:' };
    } catch {
      throw new Error(`${p.enabledEnv} must hold URLs like http://127.0.0.1:11434, got ${JSON.stringify(first)}`);
    }
  }
  return { host: p.host, port: p.port, tls: p.tls };
}

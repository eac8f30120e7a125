import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadCatalog, type Provider } from '../../ext-proc/src/catalog/load.js';
import { readEnv } from '../../ext-proc/src/config/env.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { startGateway, type Gateway } from '../../ext-proc/src/gateway.js';
import type { Logger } from '../../ext-proc/src/log/logger.js';
import { renderBootstrap, type UpstreamCluster } from '../../envoy/bootstrap.js';
import { startOpenAISimulator, type OpenAISimulator, type OpenAISimulatorOptions } from '../../simulators/openai/server.js';
import { startEnvoy, type EnvoyProcess } from './envoy-process.js';
import { freePort } from './ports.js';

/** The credential the processor sends to the bundled simulators in demo mode. */
export const SIMULATOR_PROVIDER_KEY = 'sk-sim-provider-key';

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
  /** Processor replicas (default 1): each its own gateway instance, sharing only Redis. */
  replicas?: number;
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
  simulator: OpenAISimulator | undefined;
  gateway: Gateway;
  /** All processor replicas (gateway is the first). */
  gateways: Gateway[];
  envoy: EnvoyProcess;
  /** Stops taking new connections, lets in-flight calls finish (up to graceMs), then stops all. */
  close(graceMs?: number): Promise<void>;
}

const PROVIDER_KEY_ENVS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'GROQ_API_KEY', 'OPENROUTER_API_KEY', 'DEEPSEEK_API_KEY'];

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
    const env: NodeJS.ProcessEnv = { ...o.env };
    const upstreams: UpstreamCluster[] = [];
    if (demo) {
      simulator = await startOpenAISimulator({ apiKey: SIMULATOR_PROVIDER_KEY, ...o.simulator });
      cleanups.push(() => simulator!.close());
      for (const p of catalog.providers.values()) {
        env[p.apiKeyEnv] = SIMULATOR_PROVIDER_KEY;
        upstreams.push({ name: p.cluster, host: '127.0.0.1', port: simulator.port, tls: false });
      }
    } else {
      for (const p of catalog.providers.values()) upstreams.push(realCluster(p));
    }
    const gatewayKeys = env.GATEWAY_KEYS || `demo:gw-demo-${randomBytes(12).toString('hex')}`;
    env.GATEWAY_KEYS = gatewayKeys;

    const grpcPort = o.grpcPort ?? (await freePort());
    const config = readEnv({ ...env, GRPC_PORT: String(grpcPort), METRICS_PORT: String(o.metricsPort ?? (await freePort())), CATALOG_PATH: catalogPath });
    const gateway = await startGateway(config, env, o.log);
    cleanups.push(() => gateway.close(2000));
    const gateways = [gateway];
    for (let i = 1; i < (o.replicas ?? 1); i++) {
      const replica = await startGateway({ ...config, GRPC_PORT: 0, METRICS_PORT: 0 }, env, o.log);
      cleanups.push(() => replica.close(2000));
      gateways.push(replica);
    }

    const gatewayPort = o.gatewayPort ?? (await freePort());
    const adminPort = o.adminPort ?? (await freePort());
    const bootstrap = renderBootstrap({
      listenPort: gatewayPort,
      adminPort,
      extProc: { host: '127.0.0.1', port: gateway.grpcPort },
      extProcReplicas: gateways.slice(1).map((g) => ({ host: '127.0.0.1', port: g.grpcPort })),
      upstreams,
      passthrough: o.passthrough ? { name: 'passthrough', host: o.passthrough.host, port: o.passthrough.port, tls: false } : undefined,
      maxRequestBytes: config.MAX_REQUEST_BYTES,
      accessLog: o.accessLog,
    });
    const envoy = await startEnvoy(bootstrap, { adminPort, logLevel: o.envoyLogLevel, onStdout: o.onEnvoyStdout });
    cleanups.push(() => envoy.stop());

    const drainingClose = async (graceMs = 2000) => {
      // New connections stop at Envoy first; calls already inside finish through the processor.
      await fetch(`${envoy.adminUrl}/drain_listeners`, { method: 'POST' }).catch(() => undefined);
      const deadline = Date.now() + graceMs;
      while (gateways.some((g) => g.inFlight() > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      await close();
    };

    return {
      demo,
      gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
      adminUrl: envoy.adminUrl,
      metricsUrl: `http://127.0.0.1:${gateway.metricsPort}/metrics`,
      grpcPort: gateway.grpcPort,
      gatewayKeys,
      simulator,
      gateway,
      gateways,
      envoy,
      close: drainingClose,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function realCluster(p: Provider): UpstreamCluster {
  return { name: p.cluster, host: p.host, port: p.port, tls: p.tls };
}

/** The options the OpenAI, Anthropic, Gemini and Ollama simulators share, and their defaults. */
import { failEvery, type FailEvery } from './failures.js';

export interface SimulatorOptions {
  /** Interface to bind (default '127.0.0.1'). */
  host?: string;
  /** Port to bind (default 0 = ephemeral). */
  port?: number;
  /** If set, requests must carry this key, else they are refused as the provider refuses them. */
  apiKey?: string;
  /** Delay before the response starts (default 0). */
  latencyMs?: number;
  /** Streaming pace in output tokens per second; 0/undefined = as fast as possible. */
  tokensPerSecond?: number;
  /** Inject a failure every Nth request (counting all requests; 0 = never). */
  failEvery?: number;
  /** Status of injected `failEvery` failures (default 500). */
  failStatus?: number;
}

export interface SimulatorSettings {
  host: string;
  port: number;
  /** Undefined when no key is required (an empty key requires none). */
  apiKey: string | undefined;
  latencyMs: number;
  tokensPerSecond: number;
  failures: FailEvery;
}

export function resolveOptions(opts: SimulatorOptions): SimulatorSettings {
  return {
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    apiKey: opts.apiKey !== undefined && opts.apiKey !== '' ? opts.apiKey : undefined,
    latencyMs: Math.max(0, opts.latencyMs ?? 0),
    tokensPerSecond: Math.max(0, opts.tokensPerSecond ?? 0),
    failures: failEvery(opts),
  };
}

/*
 * End to end: no secret leaks. Every secret the gateway holds is planted as a distinctive random
 * string — a provider key for each cloud provider, a tenant's own provider key, static gateway
 * keys, keys made with the key admin CLI (one of them revoked), a key nobody issued, the master
 * key, the Redis password, PROCESSOR_TOKEN and ROUTE_CONTEXT_SECRET. A broad workload then runs
 * through real Envoy with the official SDKs (and fetch): every caller API, streamed and not,
 * translated, down a fallback chain, from the cache, refused by limits, keys and policies, with
 * malformed bodies, and with providers refusing the platform's (or the tenant's) key. Everything
 * observable is then collected — the processor's log lines, Envoy's access log and output, every
 * response header and body, /metrics, Envoy's /stats/prometheus, every Redis key and value, the
 * CLI's output, and what each provider received — and searched for every secret in clear, by its
 * last 8 characters, base64 / URL / hex encoded and as a masked tail ("****abcd").
 *
 * The providers are the bundled simulators, each started with its provider's planted key (the
 * stack runs as with real credentials, not in demo mode, whose simulators share one known key).
 * `x-sim-reject-key: 1` makes a simulator refuse the key it was sent, in its provider's format.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { pino } from 'pino';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../ext-proc/src/auth/keys.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { startLocalStack, type LocalStack, type ProviderSimulator } from '../../scripts/lib/local-stack.js';
import { main as keysCli } from '../../scripts/keys.js';
import { startAnthropicSimulator } from '../../simulators/anthropic/server.js';
import { startGeminiSimulator } from '../../simulators/gemini/server.js';
import { startOllamaSimulator } from '../../simulators/ollama/server.js';
import { startOpenAISimulator } from '../../simulators/openai/server.js';
import { startVllmSimulator } from '../../simulators/vllm/server.js';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { CALL, type Caller } from '../helpers/sdk-calls.js';
import { describeLeaks, findLeaks, type Material, type Secret } from '../helpers/secret-scan.js';

const token = (bytes: number) => randomBytes(bytes).toString('base64url');
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** The platform's provider keys, shaped like each provider's own. */
const PROVIDER_KEYS = {
  openai: `sk-proj-${token(36)}`,
  anthropic: `sk-ant-api03-${token(60)}`,
  gemini: `AIza${token(27)}`,
  groq: `gsk_${token(39)}`,
  openrouter: `sk-or-v1-${hex(32)}`,
  deepseek: `sk-${hex(16)}`,
} as const;
type CloudProvider = keyof typeof PROVIDER_KEYS;
const ENV_NAME: Record<CloudProvider, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  gemini: 'GEMINI_API_KEY',
  groq: 'GROQ_API_KEY',
  openrouter: 'OPENROUTER_API_KEY',
  deepseek: 'DEEPSEEK_API_KEY',
};
/** A tenant's own OpenAI key (bring your own key), stored encrypted by the CLI. */
const TENANT_OPENAI_KEY = `sk-proj-${token(36)}`;
/** Static gateway keys (GATEWAY_KEYS), by tenant. */
const STATIC_KEYS = { main: `gw-${token(24)}`, limited: `gw-${token(24)}`, narrow: `gw-${token(24)}` };
/** A key in the right shape that was never issued. */
const UNKNOWN_KEY = `gw-${token(24)}`;
const MASTER_KEY = hex(32);
const REDIS_PASSWORD = token(24);
const PROCESSOR_TOKEN = token(32);
const ROUTE_CONTEXT_SECRET = token(48);
/** Not a secret: sent in a prompt on purpose, to show the scan finds what does get through. */
const CANARY = token(12);

/** Keys the key admin CLI makes (filled in once Redis is up). */
const cliKeys = { main: '', tight: '', byok: '', revoked: '' };

let redis: RedisServerHandle;
let redisUrl: string;
let admin: Redis;
let stack: LocalStack;
let tmp: string;
let accessLogPath: string;
const sims: Record<CloudProvider | 'ollama' | 'vllm', ProviderSimulator> = {} as never;

// --- what is observed ---------------------------------------------------------------------

const processorLog: string[] = [];
const envoyStdout: string[] = [];
const envoyStderr: string[] = [];
const redisOutput: string[] = [];
/** Every command of the key admin CLI, with what it printed (a created key's own line left out). */
const cliOutput: Material[] = [];

interface Seen {
  api: Api;
  what: string;
  method: string;
  path: string;
  status: number;
  headers: Array<[string, string]>;
  body: string;
}
type Api = 'openai' | 'anthropic' | 'gemini' | 'ollama' | 'other';
const responses: Seen[] = [];
const bodyReads: Array<Promise<unknown>> = [];
let current: { api: Api; what: string } = { api: 'other', what: 'set-up' };

interface Outcome {
  api: Api;
  what: string;
  expected: number[];
  status: number | undefined;
  cache: string | null | undefined;
  error?: string;
}
const outcomes: Outcome[] = [];

const collected: {
  metrics: string;
  envoyStats: string;
  redis: Material[];
  redisKeys: number;
  configDumpHasToken: boolean;
} = { metrics: '', envoyStats: '', redis: [], redisKeys: 0, configDumpHasToken: false };

const realFetch = globalThis.fetch;

/** Records every response the gateway gives (headers, and the body as the caller reads it). */
const recordingFetch: typeof fetch = async (input, init) => {
  const res = await realFetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (stack && url.startsWith(stack.gatewayUrl)) {
    const u = new URL(url);
    const seen: Seen = {
      api: current.api,
      what: current.what,
      method: init?.method ?? (input instanceof Request ? input.method : 'GET'),
      path: u.pathname,
      status: res.status,
      headers: [...res.headers],
      body: '',
    };
    responses.push(seen);
    bodyReads.push(
      res
        .clone()
        .text()
        .then(
          (t) => {
            seen.body = t;
          },
          (e: unknown) => {
            seen.body = `<body not read: ${String(e)}>`;
          },
        ),
    );
  }
  return res;
};

// --- the callers ----------------------------------------------------------------------------

/** Runs one call of the workload and notes the status it got (the last gateway response's). */
async function call(api: Api, what: string, expected: number | number[], fn: () => Promise<unknown>): Promise<void> {
  current = { api, what };
  const first = responses.length;
  let error: string | undefined;
  try {
    await fn();
  } catch (e) {
    error = e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
  }
  const last = responses.slice(first).at(-1);
  outcomes.push({
    api,
    what,
    expected: Array.isArray(expected) ? expected : [expected],
    status: last?.status,
    cache: last?.headers.find(([k]) => k === 'x-gateway-cache')?.[1],
    ...(error ? { error } : {}),
  });
  current = { api: 'other', what: 'between calls' };
}

const gw = (key: string) => ({ url: stack.gatewayUrl, key });
const openai = (key: string) => new OpenAI({ apiKey: key, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
const anthropic = (key: string) => new Anthropic({ apiKey: key, baseURL: stack.gatewayUrl, maxRetries: 0 });
const gemini = (key: string) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: stack.gatewayUrl } });

/** Reads a response to its end, as a caller would. */
const drain = async (r: Response) => {
  await r.text();
  return r;
};
const post = (p: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${stack.gatewayUrl}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }).then(drain);
const chatBody = (model: string, prompt: string, stream = false) => ({ model, stream, messages: [{ role: 'user', content: prompt }] });
const rawOpenAI = (key: string, body: unknown, extra: Record<string, string> = {}) =>
  post('/v1/chat/completions', body, { authorization: `Bearer ${key}`, ...extra });
const rawAnthropic = (key: string, body: unknown, extra: Record<string, string> = {}) =>
  post('/v1/messages', body, { 'x-api-key': key, 'anthropic-version': '2023-06-01', ...extra });
const anthropicBody = (model: string, prompt: string, stream = false) => ({
  model,
  max_tokens: 64,
  stream,
  messages: [{ role: 'user', content: prompt }],
});
const geminiBody = (prompt: string) => ({ contents: [{ role: 'user', parts: [{ text: prompt }] }] });
const rawGemini = (model: string, body: unknown, auth: { header?: string; query?: string }, stream = false, extra: Record<string, string> = {}) => {
  const q = new URLSearchParams(stream ? { alt: 'sse' } : {});
  if (auth.query) q.set('key', auth.query);
  const qs = q.toString();
  return post(`/v1beta/models/${model}:${stream ? 'streamGenerateContent' : 'generateContent'}${qs ? `?${qs}` : ''}`, body, {
    ...(auth.header ? { 'x-goog-api-key': auth.header } : {}),
    ...extra,
  });
};
const rawOllama = (key: string, model: string, prompt: string, stream: boolean, extra: Record<string, string> = {}) =>
  post('/api/chat', { model, stream, messages: [{ role: 'user', content: prompt }] }, { authorization: `Bearer ${key}`, ...extra });

async function openaiStream(key: string, model: string, prompt: string): Promise<void> {
  const s = await openai(key).chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: prompt }] });
  for await (const _ of s) {
    // read to the end
  }
}

const REJECT = { 'x-sim-reject-key': '1' };

// --- the stack ------------------------------------------------------------------------------

function cliOut(): { text: string; write(chunk: string): boolean } {
  return {
    text: '',
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

async function cli(args: string[], keepFirstLine = true): Promise<string> {
  const out = cliOut();
  const err = cliOut();
  const env = { REDIS_URL: redisUrl, GATEWAY_MASTER_KEY: MASTER_KEY, CATALOG_PATH: path.join(tmp, 'catalog.yaml') };
  const code = await keysCli(args, env, out, err);
  if (code !== 0) throw new Error(`keys ${args[0]} exited ${code}: ${err.text}`);
  const [first, ...rest] = out.text.split('\n');
  // `create` prints the new key on its first line: the one channel meant to show it.
  cliOutput.push({ source: `keys CLI \`${args[0]}\` stdout`, text: keepFirstLine ? out.text : rest.join('\n') });
  cliOutput.push({ source: `keys CLI \`${args[0]}\` stderr`, text: err.text });
  return first ?? '';
}

async function startEverything(): Promise<void> {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'gw-secrets-'));
  accessLogPath = path.join(tmp, 'access.log');

  redis = await startRedis();
  redis.child.stdout?.on('data', (d: Buffer) => redisOutput.push(d.toString('utf8')));
  redis.child.stderr?.on('data', (d: Buffer) => redisOutput.push(d.toString('utf8')));
  const open = new Redis(redis.url);
  await open.config('SET', 'requirepass', REDIS_PASSWORD);
  open.disconnect();
  redisUrl = `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`;
  admin = new Redis(redisUrl);
  admin.on('error', () => undefined);

  // One simulator per cloud provider, each knowing only its provider's planted key.
  for (const p of ['openai', 'groq', 'openrouter', 'deepseek'] as const) sims[p] = await startOpenAISimulator({ apiKey: PROVIDER_KEYS[p] });
  sims.anthropic = await startAnthropicSimulator({ apiKey: PROVIDER_KEYS.anthropic });
  sims.gemini = await startGeminiSimulator({ apiKey: PROVIDER_KEYS.gemini });
  sims.ollama = await startOllamaSimulator({});
  // The local vLLM pool always fails: its model's fallback chain goes on to Anthropic.
  sims.vllm = await startVllmSimulator({ loraModules: ['sql-lora'], failEvery: 1, failStatus: 500 });

  // The catalog, with each cloud provider's address pointing at its simulator.
  const doc = parseDocument(readFileSync(path.join(repoRoot(), 'models', 'catalog.yaml'), 'utf8'));
  for (const p of Object.keys(PROVIDER_KEYS) as CloudProvider[]) {
    doc.setIn(['providers', p, 'host'], '127.0.0.1');
    doc.setIn(['providers', p, 'port'], sims[p].port);
    doc.setIn(['providers', p, 'tls'], false);
  }
  const models = doc.toJS().models as Array<{ id: string }>;
  doc.setIn(['models', models.findIndex((m) => m.id === 'vllm/llama-3.1-8b'), 'fallbacks'], ['claude-haiku-4-5']);
  writeFileSync(path.join(tmp, 'catalog.yaml'), doc.toString());
  writeFileSync(path.join(tmp, 'tenants.yaml'), ['tenants:', '  limited: { limits: { rpm: 2 } }', '  narrow: { models: [gpt-4o-mini] }', ''].join('\n'));

  // Keys in Redis, made through the key admin CLI; one tenant brings its own OpenAI key.
  cliKeys.main = await cli(['create', '--tenant', 'cli', '--name', 'secrets-hygiene'], false);
  cliKeys.tight = await cli(['create', '--tenant', 'cli', '--name', 'tight', '--rpm', '1', '--models', 'claude-haiku-4-5'], false);
  cliKeys.byok = await cli(['create', '--tenant', 'byok', '--name', 'own-key'], false);
  cliKeys.revoked = await cli(['create', '--tenant', 'cli', '--name', 'to-revoke'], false);
  await cli(['set-credential', '--tenant', 'byok', '--provider', 'openai', '--key', TENANT_OPENAI_KEY]);
  await cli(['revoke', hashKey(cliKeys.revoked).slice(0, 12)]);
  await cli(['list']);

  const capture = { write: (line: string) => processorLog.push(line) };
  stack = await startLocalStack({
    demo: false,
    env: {
      ...Object.fromEntries((Object.keys(PROVIDER_KEYS) as CloudProvider[]).map((p) => [ENV_NAME[p], PROVIDER_KEYS[p]])),
      OLLAMA_URLS: sims.ollama.url,
      VLLM_URLS: sims.vllm.url,
      GATEWAY_KEYS: Object.entries(STATIC_KEYS)
        .map(([t, k]) => `${t}:${k}`)
        .join(','),
      REDIS_URL: redisUrl,
      CATALOG_PATH: path.join(tmp, 'catalog.yaml'),
      TENANTS_PATH: path.join(tmp, 'tenants.yaml'),
      GATEWAY_MASTER_KEY: MASTER_KEY,
      PROCESSOR_TOKEN,
      ROUTE_CONTEXT_SECRET,
      CACHE_TTL_SECONDS: '300',
      LOG_LEVEL: 'trace',
      // The usage ledger (a local file here: no DATABASE_URL), scanned like everything else.
      LEDGER_DIR: path.join(tmp, 'ledger'),
    },
    // Every level the processor logs at, whole, line by line.
    log: pino({ level: 'trace' }, capture),
    accessLog: accessLogPath,
    envoyLogLevel: 'info',
    onEnvoyStdout: (d) => envoyStdout.push(d.toString('utf8')),
    attemptIdleTimeoutMs: 3000,
  });
  envoyStderr.push(stack.envoy.log());
  stack.envoy.child.stderr?.on('data', (d: Buffer) => envoyStderr.push(d.toString('utf8')));
  globalThis.fetch = recordingFetch;
}

// --- the workload -----------------------------------------------------------------------------

let n = 0;
const prompt = (what: string) => `secrets hygiene ${what} #${++n}`;

async function workload(): Promise<void> {
  const K = STATIC_KEYS.main;

  // Successful calls with each SDK, each backend API, streamed and not (the CLI key for some).
  const backends: Array<[string, string]> = [
    ['gpt-4o-mini', 'openai'],
    ['llama-3.3-70b-versatile', 'groq'],
    ['openrouter/meta-llama/llama-3.3-70b-instruct', 'openrouter'],
    ['deepseek-chat', 'deepseek'],
    ['claude-haiku-4-5', 'anthropic'],
    ['gemini-2.5-flash-lite', 'gemini'],
    ['llama3.2', 'ollama'],
  ];
  const sdkCallers: Array<[Caller, string]> = [
    ['openai', K],
    ['anthropic', cliKeys.main],
    ['gemini', K],
  ];
  for (const [caller, key] of sdkCallers) {
    for (const [model, provider] of backends) {
      for (const stream of [false, true]) {
        await call(caller, `${caller} SDK → ${provider} ${stream ? 'stream' : 'whole'}`, 200, () =>
          CALL[caller](gw(key), model, prompt(`${caller} ${model}`), stream, false),
        );
      }
    }
  }
  await call('openai', 'openai SDK tool call', 200, () => CALL.openai(gw(K), 'gpt-4o-mini', prompt('tool [sim:tool]'), false, true));
  await call('anthropic', 'anthropic SDK tool call → gemini', 200, () =>
    CALL.anthropic(gw(cliKeys.main), 'gemini-2.5-flash-lite', prompt('tool [sim:tool]'), true, true),
  );
  await call('openai', 'openai SDK model auto', 200, () =>
    openai(K).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt('auto') }] }),
  );
  await call('openai', 'GET /v1/models (Bearer)', 200, () => openai(K).models.list());
  await call('anthropic', 'anthropic SDK → claude-sonnet-4-5 (chain head)', 200, () =>
    anthropic(cliKeys.main).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: prompt('chain head') }] }),
  );

  // Ollama's API with fetch (Bearer), its own pool and translated.
  for (const [model, stream] of [
    ['llama3.2', false],
    ['llama3.2', true],
    ['gpt-4o-mini', false],
    ['claude-haiku-4-5', true],
  ] as const) {
    await call('ollama', `ollama fetch → ${model} ${stream ? 'stream' : 'whole'}`, 200, () =>
      rawOllama(cliKeys.main, model, prompt(`ollama ${model}`), stream),
    );
  }
  await call('ollama', 'GET /api/tags (Bearer)', 200, () => fetch(`${stack.gatewayUrl}/api/tags`, { headers: { authorization: `Bearer ${K}` } }).then(drain));

  // The gateway key the way each API sends it.
  await call('gemini', 'gemini ?key= generateContent', 200, () => rawGemini('gemini-2.5-flash-lite', geminiBody(prompt('query key')), { query: K }));
  await call('gemini', 'gemini ?key= streamGenerateContent → openai', 200, () =>
    rawGemini('gpt-4o-mini', geminiBody(prompt('query key stream')), { query: cliKeys.main }, true),
  );
  await call('gemini', 'gemini x-goog-api-key (fetch)', 200, () =>
    rawGemini('gemini-2.5-flash-lite', geminiBody(prompt('goog header')), { header: cliKeys.main }),
  );
  await call('gemini', 'GET /v1beta/models?key=', 200, () => fetch(`${stack.gatewayUrl}/v1beta/models?key=${K}`).then(drain));
  await call('anthropic', 'anthropic x-api-key (fetch)', 200, () => rawAnthropic(K, anthropicBody('claude-haiku-4-5', prompt('x-api-key'))));
  await call('anthropic', 'anthropic Authorization: Bearer (fetch)', 200, () =>
    post('/v1/messages', anthropicBody('gpt-4o-mini', prompt('bearer on messages')), {
      authorization: `Bearer ${cliKeys.main}`,
      'anthropic-version': '2023-06-01',
    }),
  );
  await call('openai', 'openai Authorization: Bearer (fetch, stream)', 200, () =>
    rawOpenAI(cliKeys.main, chatBody('deepseek-chat', prompt('bearer stream'), true)),
  );

  // A fallback chain: the vLLM pool fails (500), Anthropic answers, for callers of two APIs.
  await call('openai', 'openai SDK → vllm chain (falls back)', 200, () =>
    openai(K).chat.completions.create({ model: 'vllm/llama-3.1-8b', messages: [{ role: 'user', content: prompt('chain') }] }),
  );
  await call('openai', 'openai SDK → vllm chain stream', 200, () => openaiStream(K, 'vllm/llama-3.1-8b', prompt('chain stream')));
  await call('anthropic', 'anthropic fetch → vllm chain', 200, () => rawAnthropic(cliKeys.main, anthropicBody('vllm/llama-3.1-8b', prompt('chain anthropic'))));

  // Cache hits: the same request twice, in each API.
  const same = {
    openai: prompt('cached openai'),
    anthropic: prompt('cached anthropic'),
    gemini: prompt('cached gemini'),
    ollama: prompt('cached ollama'),
    stream: prompt('cached stream'),
  };
  for (let i = 0; i < 2; i++) {
    const tag = i === 0 ? 'cache miss' : 'cache hit';
    await call('openai', `openai SDK ${tag}`, 200, () => CALL.openai(gw(K), 'gpt-4o-mini', same.openai, false, false));
    await call('openai', `openai SDK stream ${tag}`, 200, () => CALL.openai(gw(K), 'deepseek-chat', same.stream, true, false));
    await call('anthropic', `anthropic SDK ${tag}`, 200, () => CALL.anthropic(gw(cliKeys.main), 'claude-haiku-4-5', same.anthropic, false, false));
    await call('gemini', `gemini SDK ${tag}`, 200, () => CALL.gemini(gw(K), 'gemini-2.5-flash-lite', same.gemini, false, false));
    await call('ollama', `ollama fetch ${tag}`, 200, () => rawOllama(cliKeys.main, 'gpt-4o-mini', same.ollama, false));
  }

  // Limits: the tenant's 2 requests a minute, then 429 in every API; the key's 1 a minute.
  const L = STATIC_KEYS.limited;
  await call('openai', 'limited tenant call 1', 200, () => rawOpenAI(L, chatBody('gpt-4o-mini', prompt('limit 1'))));
  await call('openai', 'limited tenant call 2', 200, () => rawOpenAI(L, chatBody('gpt-4o-mini', prompt('limit 2'))));
  await call('openai', 'limited tenant over rpm (SDK)', 429, () =>
    openai(L).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt('limit 3') }] }),
  );
  await call('anthropic', 'limited tenant over rpm', 429, () => rawAnthropic(L, anthropicBody('claude-haiku-4-5', prompt('limit 4'))));
  await call('gemini', 'limited tenant over rpm (?key=)', 429, () => rawGemini('gemini-2.5-flash-lite', geminiBody(prompt('limit 5')), { query: L }));
  await call('ollama', 'limited tenant over rpm', 429, () => rawOllama(L, 'llama3.2', prompt('limit 6'), true));
  await call('anthropic', 'CLI key (rpm 1) call 1', 200, () =>
    anthropic(cliKeys.tight).messages.create({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: prompt('tight 1') }] }),
  );
  await call('anthropic', 'CLI key over its rpm (SDK)', 429, () =>
    anthropic(cliKeys.tight).messages.create({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: prompt('tight 2') }] }),
  );

  // Keys nobody issued, a revoked one, none at all: 401 in every API.
  await call('openai', 'unknown key (SDK)', 401, () =>
    openai(UNKNOWN_KEY).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
  );
  await call('anthropic', 'unknown key (SDK)', 401, () =>
    anthropic(UNKNOWN_KEY).messages.create({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
  );
  await call('gemini', 'unknown key (SDK)', 401, () => gemini(UNKNOWN_KEY).models.generateContent({ model: 'gemini-2.5-flash-lite', contents: 'x' }));
  await call('gemini', 'unknown key (?key=)', 401, () => rawGemini('gemini-2.5-flash-lite', geminiBody('x'), { query: UNKNOWN_KEY }, true));
  await call('ollama', 'unknown key', 401, () => rawOllama(UNKNOWN_KEY, 'llama3.2', 'x', false));
  await call('openai', 'revoked CLI key (stream)', 401, () => rawOpenAI(cliKeys.revoked, chatBody('gpt-4o-mini', 'x', true)));
  await call('anthropic', 'revoked CLI key', 401, () => rawAnthropic(cliKeys.revoked, anthropicBody('claude-haiku-4-5', 'x')));
  await call('openai', 'no key', 401, () => post('/v1/chat/completions', chatBody('gpt-4o-mini', 'x'), {}));
  await call('openai', 'GET /v1/models, unknown key', 401, () =>
    fetch(`${stack.gatewayUrl}/v1/models`, { headers: { authorization: `Bearer ${UNKNOWN_KEY}` } }).then(drain),
  );

  // Models outside an allow-list: 403.
  const N = STATIC_KEYS.narrow;
  await call('openai', "model outside the tenant's list (SDK)", 403, () =>
    openai(N).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
  );
  await call('anthropic', "model outside the tenant's list", 403, () => rawAnthropic(N, anthropicBody('claude-haiku-4-5', 'x')));
  await call('gemini', "model outside the tenant's list", 403, () => rawGemini('gemini-2.5-flash-lite', geminiBody('x'), { header: N }));
  await call('ollama', "model outside the tenant's list", 403, () => rawOllama(N, 'llama3.2', 'x', true));
  await call('openai', "model outside the CLI key's list", 403, () => rawOpenAI(cliKeys.tight, chatBody('gpt-4o-mini', 'x')));

  // Malformed and invalid bodies: 400.
  await call('openai', 'malformed JSON', 400, () => rawOpenAI(K, '{"model": "gpt-4o-mini", "messages": ['));
  await call('openai', 'empty messages', 400, () => rawOpenAI(K, { model: 'gpt-4o-mini', messages: [] }));
  await call('anthropic', 'malformed JSON', 400, () => rawAnthropic(K, '{broken'));
  await call('anthropic', 'unknown role', 400, () =>
    rawAnthropic(K, { model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'wizard', content: 'x' }] }),
  );
  await call('gemini', 'malformed JSON', 400, () => rawGemini('gemini-2.5-flash-lite', '{"contents": 1', { query: K }));
  await call('ollama', 'malformed JSON', 400, () => post('/api/chat', '{"model":', { authorization: `Bearer ${K}` }));

  // A provider refusing the platform's key (x-sim-reject-key), for each provider and API.
  await call('openai', 'OpenAI refuses the platform key', 502, () => rawOpenAI(K, chatBody('gpt-4o-mini', prompt('reject')), REJECT));
  await call('openai', 'OpenAI refuses the platform key (stream)', 502, () => rawOpenAI(K, chatBody('gpt-4o-mini', prompt('reject'), true), REJECT));
  await call('openai', 'Groq refuses the platform key', 502, () => rawOpenAI(K, chatBody('llama-3.3-70b-versatile', prompt('reject')), REJECT));
  await call('openai', 'DeepSeek refuses the platform key (stream)', 502, () => rawOpenAI(K, chatBody('deepseek-chat', prompt('reject'), true), REJECT));
  await call('openai', 'OpenRouter refuses the platform key', 502, () =>
    rawOpenAI(K, chatBody('openrouter/anthropic/claude-sonnet-4', prompt('reject')), REJECT),
  );
  await call('anthropic', 'Anthropic refuses the platform key', 502, () => rawAnthropic(K, anthropicBody('claude-haiku-4-5', prompt('reject')), REJECT));
  await call('anthropic', 'Anthropic refuses the platform key (stream)', 502, () =>
    rawAnthropic(K, anthropicBody('claude-haiku-4-5', prompt('reject'), true), REJECT),
  );
  await call('gemini', 'Gemini refuses the platform key', 502, () =>
    rawGemini('gemini-2.5-flash-lite', geminiBody(prompt('reject')), { header: K }, false, REJECT),
  );
  await call('gemini', 'Gemini refuses the platform key (stream)', 502, () =>
    rawGemini('gemini-2.5-flash-lite', geminiBody(prompt('reject')), { query: K }, true, REJECT),
  );
  await call('ollama', 'OpenAI refuses the platform key (translated)', 502, () => rawOllama(K, 'gpt-4o-mini', prompt('reject'), false, REJECT));
  await call('openai', 'OpenAI SDK, Anthropic refuses the platform key', 502, () =>
    openai(K).chat.completions.create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: prompt('reject') }] }, { headers: REJECT }),
  );
  // Down chains, every member refusing its key.
  await call('openai', 'chain: OpenRouter, Groq, Gemini all refuse their keys', [502, 503], () =>
    rawOpenAI(K, chatBody('openrouter/meta-llama/llama-3.3-70b-instruct', prompt('reject chain')), REJECT),
  );
  await call('openai', 'chain: vLLM fails, Anthropic refuses its key', [502, 503], () =>
    rawOpenAI(K, chatBody('vllm/llama-3.1-8b', prompt('reject chain')), REJECT),
  );
  // The tenant's own key, refused by the provider (the OpenAI simulator knows only the platform's).
  await call('openai', "OpenAI refuses the tenant's own key (SDK)", 502, () =>
    openai(cliKeys.byok).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt('byok') }] }),
  );
  await call('anthropic', "OpenAI refuses the tenant's own key (translated, stream)", 502, () =>
    rawAnthropic(cliKeys.byok, anthropicBody('gpt-4o-mini', prompt('byok'), true)),
  );

  await call('openai', 'canary in the prompt', 200, () => CALL.openai(gw(K), 'gpt-4o-mini', `${CANARY} canary`, false, false));

  // Odds and ends of the edge.
  await call('other', 'GET /healthz', 200, () => fetch(`${stack.gatewayUrl}/healthz`).then(drain));
  await call('other', 'GET /v1/usage', [200, 404], () =>
    fetch(`${stack.gatewayUrl}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${K}` } }).then(drain),
  );
}

// --- collecting what is observable --------------------------------------------------------------

async function dumpRedis(): Promise<{ material: Material[]; keys: number }> {
  const material: Material[] = [];
  let keys = 0;
  const dbs = [...(await admin.info('keyspace')).matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
  for (const db of dbs.length > 0 ? dbs : [0]) {
    const c = new Redis(redisUrl, { db });
    try {
      let cursor = '0';
      do {
        const [next, batch] = await c.scan(cursor, 'COUNT', 500);
        cursor = next;
        for (const key of batch) {
          keys++;
          const type = await c.type(key);
          let value: unknown;
          if (type === 'string') value = await c.get(key);
          else if (type === 'hash') value = await c.hgetall(key);
          else if (type === 'list') value = await c.lrange(key, 0, -1);
          else if (type === 'set') value = await c.smembers(key);
          else if (type === 'zset') value = await c.zrange(key, 0, -1, 'WITHSCORES');
          else if (type === 'stream') value = await c.xrange(key, '-', '+');
          else value = (await c.dumpBuffer(key))?.toString('latin1');
          material.push({ source: `Redis db${db} ${type} ${key}`, text: `${key}\n${typeof value === 'string' ? value : JSON.stringify(value)}` });
        }
      } while (cursor !== '0');
    } finally {
      c.disconnect();
    }
  }
  return { material, keys };
}

async function collectAndStop(): Promise<void> {
  await Promise.all(bodyReads);
  globalThis.fetch = realFetch;
  collected.metrics = await (await realFetch(stack.metricsUrl)).text();
  collected.envoyStats = await (await realFetch(`${stack.adminUrl}/stats/prometheus`)).text();
  // Envoy's admin interface (loopback only) holds its own configuration, the processor token included: noted, not scanned.
  collected.configDumpHasToken = (await (await realFetch(`${stack.adminUrl}/config_dump`)).text()).includes(PROCESSOR_TOKEN);
  const dump = await dumpRedis();
  // Envoy writes its access log every 200 ms.
  await new Promise((r) => setTimeout(r, 400));
  collected.redis = dump.material;
  collected.redisKeys = dump.keys;
  // Stopping flushes the access log and logs the processor's shutdown: part of what is observed.
  await stack.close(1000);
  envoyStderr.push(stack.envoy.log());
}

const lines = (text: string, source: string): Material[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => ({ source: `${source} line ${i + 1}`, text: l }));

const material = {
  processorLog: () => processorLog.flatMap((chunk, i) => lines(chunk, `processor log write ${i + 1}`)),
  accessLog: () => lines(readFileSync(accessLogPath, 'utf8'), 'Envoy access log'),
  envoyOutput: () => [...lines(envoyStdout.join(''), 'Envoy stdout'), ...lines(envoyStderr.join(''), 'Envoy stderr')],
  responses: () =>
    responses.map((r, i) => ({
      source: `response ${i + 1} (${r.api}: ${r.what}; ${r.method} ${r.path} → ${r.status})`,
      text: `${r.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${r.body}`,
    })),
  metrics: () => lines(collected.metrics, 'processor /metrics'),
  envoyStats: () => lines(collected.envoyStats, 'Envoy /stats/prometheus'),
  redis: () => [...collected.redis, ...lines(redisOutput.join(''), 'redis-server output')],
  cli: () => cliOutput,
  ledger: () => lines(readFileSync(path.join(tmp, 'ledger', 'usage.jsonl'), 'utf8'), 'usage ledger'),
};

/** Writes what was observed to a directory, to read by hand (SECRETS_HYGIENE_DUMP=dir). */
function dump(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, get] of Object.entries(material))
    writeFileSync(
      path.join(dir, `${name}.txt`),
      get()
        .map((m) => `## ${m.source}\n${m.text}\n`)
        .join(''),
    );
  writeFileSync(path.join(dir, 'outcomes.json'), JSON.stringify(outcomes, null, 2));
}

// --- the secrets ------------------------------------------------------------------------------

function secrets(): Secret[] {
  return [
    ...(Object.keys(PROVIDER_KEYS) as CloudProvider[]).map((p) => ({ name: `${ENV_NAME[p]} (platform ${p} key)`, value: PROVIDER_KEYS[p] })),
    { name: "tenant byok's own OpenAI key", value: TENANT_OPENAI_KEY },
    ...Object.entries(STATIC_KEYS).map(([t, k]) => ({ name: `GATEWAY_KEYS key of tenant ${t}`, value: k })),
    { name: 'CLI-created gateway key (cli)', value: cliKeys.main },
    { name: 'CLI-created gateway key (cli, rpm 1)', value: cliKeys.tight },
    { name: 'CLI-created gateway key (byok)', value: cliKeys.byok },
    { name: 'CLI-created gateway key, revoked', value: cliKeys.revoked },
    { name: 'unknown gateway key a caller sent', value: UNKNOWN_KEY },
    { name: 'GATEWAY_MASTER_KEY', value: MASTER_KEY, bytes: [Buffer.from(MASTER_KEY, 'hex')] },
    { name: 'Redis password', value: REDIS_PASSWORD },
    { name: 'PROCESSOR_TOKEN', value: PROCESSOR_TOKEN },
    { name: 'ROUTE_CONTEXT_SECRET', value: ROUTE_CONTEXT_SECRET },
  ];
}

function expectNoLeaks(m: Material[], list: Secret[] = secrets()): void {
  const leaks = describeLeaks(findLeaks(list, m));
  expect(leaks, `secrets found:\n${leaks.join('\n')}`).toEqual([]);
}

// --- the tests ----------------------------------------------------------------------------------

describe('the leak scanner', () => {
  const s: Secret = { name: 'sample', value: `sk-proj-${token(36)}`, bytes: [randomBytes(32)] };
  const found = (text: string) => findLeaks([s], [{ source: 'sample', text }]).map((l) => l.form);

  it('finds a secret in clear, by its tail, base64 / URL / hex encoded at any offset, and masked', () => {
    const v = s.value;
    expect(found(`{"auth":"Bearer ${v}"}`)).toEqual(['clear']);
    expect(found(`key …${v.slice(-8)}`)).toEqual(['last 8 characters']);
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      expect(found(Buffer.from(`${prefix}user:${v}`).toString('base64'))).toEqual(['base64']);
      const url = Buffer.from(`${prefix}${v}!`).toString('base64url');
      expect(found(url)[0]).toMatch(/^base64/);
    }
    expect(found(Buffer.from(s.bytes![0]!).toString('base64'))).toEqual(['base64 (raw bytes)']);
    expect(found(`master=${s.bytes![0]!.toString('hex').toUpperCase()}`)).toEqual(['hex (raw bytes)']);
    expect(found(`x=${Buffer.from(v).toString('hex')}`)).toEqual(['hex']);
    expect(found(`Incorrect API key provided: ${'*'.repeat(20)}${v.slice(-4)}.`)).toEqual(['masked tail']);
    const odd: Secret = { name: 'odd', value: `${token(16)}pw+/=&` };
    expect(findLeaks([odd], [{ source: 'url', text: `redis://:${encodeURIComponent(odd.value)}@host` }]).map((l) => l.form)).toEqual(['URL-encoded']);
  });

  it('finds nothing in text without the secret, and names where it found one', () => {
    expect(found(`Bearer sk-proj-${token(36)} and ${'*'.repeat(8)}${token(3)} and ${token(6)}`)).toEqual([]);
    const leaks = findLeaks([s], [{ source: 'log line 7', text: `{"msg":"upstream said ${s.value}"}` }]);
    expect(describeLeaks(leaks)).toEqual([expect.stringMatching(/^sample \(clear\) in log line 7: .*upstream said <sample\/clear>/)]);
  });
});

describe('secrets hygiene through Envoy, the processor, Redis and the providers', () => {
  beforeAll(async () => {
    await startEverything();
    await workload();
    await collectAndStop();
    if (process.env.SECRETS_HYGIENE_DUMP) dump(process.env.SECRETS_HYGIENE_DUMP);
  }, 240_000);

  afterAll(async () => {
    globalThis.fetch = realFetch;
    admin?.disconnect();
    await Promise.all(Object.values(sims).map((s) => s.close().catch(() => undefined)));
    await redis?.stop();
  });

  it('ran the workload it was meant to: every API, every outcome', () => {
    const wrong = outcomes.filter((o) => o.status === undefined || !o.expected.includes(o.status));
    expect(wrong.map((o) => `${o.api}: ${o.what}: got ${o.status ?? 'no response'}, expected ${o.expected.join('/')} ${o.error ?? ''}`)).toEqual([]);
    const hits = outcomes.filter((o) => o.what.endsWith('cache hit') && o.cache === 'hit');
    expect(hits.map((o) => o.api).sort()).toEqual(['anthropic', 'gemini', 'ollama', 'openai', 'openai']);
    for (const status of [200, 400, 401, 403, 429, 502]) expect(outcomes.some((o) => o.status === status)).toBe(true);
    // What was observed and scanned, for the record.
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[`${o.api} ${o.status}`] = (counts[`${o.api} ${o.status}`] ?? 0) + 1;
    console.info(
      JSON.stringify({
        calls: outcomes.length,
        byApiAndStatus: counts,
        cacheHits: hits.length,
        responses: responses.length,
        processorLogLines: material.processorLog().length,
        accessLogLines: material.accessLog().length,
        envoyOutputLines: material.envoyOutput().length,
        metricLines: material.metrics().length,
        envoyStatLines: material.envoyStats().length,
        redisKeys: collected.redisKeys,
        redisKeyPrefixes: [...new Set(collected.redis.map((m) => m.source.split(' ')[3]!.split(':').slice(0, 2).join(':')))],
        envoyConfigDumpHoldsProcessorToken: collected.configDumpHasToken,
      }),
    );
  });

  it("had every planted secret in play: each provider got its own key, the gateway the callers' keys", () => {
    const sent = (sim: ProviderSimulator) => sim.requests.map((r) => JSON.stringify(r.headers));
    for (const p of Object.keys(PROVIDER_KEYS) as CloudProvider[]) {
      expect(
        sent(sims[p]).some((h) => h.includes(PROVIDER_KEYS[p])),
        `${p} received its key`,
      ).toBe(true);
    }
    expect(sent(sims.openai).some((h) => h.includes(TENANT_OPENAI_KEY))).toBe(true);
    expect(sims.ollama.requestCount()).toBeGreaterThan(0);
    expect(sims.vllm.requestCount()).toBeGreaterThan(0);
    // Each provider was made to refuse its key at least once.
    for (const p of Object.keys(PROVIDER_KEYS) as CloudProvider[]) {
      expect(
        sims[p].requests.some((r) => r.headers['x-sim-reject-key'] === '1'),
        `${p} refused a key`,
      ).toBe(true);
    }
    // The material is really there: every call shows in the access log, and every call that reached
    // a provider in the processor log (by its request id; refusals the gateway answers itself are
    // counted in metrics, not logged).
    expect(material.accessLog().length).toBeGreaterThanOrEqual(outcomes.length);
    const header = (r: Seen, name: string) => r.headers.find(([k]) => k === name)?.[1];
    const upstream = responses.filter((r) => header(r, 'x-gateway-cache') === 'miss').map((r) => header(r, 'x-gateway-request-id')!);
    expect(upstream.length).toBeGreaterThan(60);
    const logged = processorLog.join('');
    expect(upstream.filter((id) => !logged.includes(id))).toEqual([]);
    expect(collected.redisKeys).toBeGreaterThan(0);
    expect(collected.metrics).toContain('llm_gateway_requests_total');
  });

  it('can fail: a string the workload made observable on purpose is found where it went', () => {
    const canary: Secret = { name: 'canary', value: CANARY };
    // The simulators echo the prompt's start: the canary is in the answers and in the cached answer.
    expect(findLeaks([canary], material.responses()).length).toBeGreaterThan(0);
    expect(findLeaks([canary], material.redis()).map((l) => l.source)).toEqual([expect.stringContaining('llmgw:cache:')]);
    // Its request id, read back from a response, is found in the processor log and the access log.
    const rid = responses.find((r) => r.what.startsWith('canary'))!.headers.find(([k]) => k === 'x-gateway-request-id')![1];
    const id: Secret = { name: 'canary request id', value: rid };
    expect(findLeaks([id], material.processorLog()).length).toBe(1);
    expect(findLeaks([id], material.accessLog()).length).toBe(1);
    expect(findLeaks([id], material.ledger()).length).toBe(1);
  });

  it('no secret in the processor log (every level, start to shutdown)', () => {
    expectNoLeaks(material.processorLog());
  });

  it("no secret in Envoy's access log", () => {
    expectNoLeaks(material.accessLog());
  });

  it("no secret in Envoy's stdout and stderr", () => {
    expectNoLeaks(material.envoyOutput());
  });

  it('no secret in any response header or body a caller saw', () => {
    expectNoLeaks(material.responses());
  });

  it('no secret in the processor /metrics or Envoy /stats/prometheus', () => {
    expectNoLeaks([...material.metrics(), ...material.envoyStats()]);
  });

  it('no secret in Redis (every key and value, of every type): gateway keys only as digests, credentials only encrypted', () => {
    expectNoLeaks(material.redis());
    // Redis-managed keys are there, hashed.
    const names = collected.redis.map((m) => m.source);
    for (const k of [cliKeys.main, cliKeys.tight, cliKeys.byok]) expect(names.some((s) => s.endsWith(`llmgw:key:${hashKey(k)}`))).toBe(true);
    expect(names.some((s) => s.endsWith('llmgw:cred:byok:openai'))).toBe(true);
  });

  it('no secret in the usage ledger (one record per finished call)', () => {
    expect(material.ledger().length).toBeGreaterThan(60);
    expectNoLeaks(material.ledger());
  });

  it("no secret in the key admin CLI's output beyond the one line that hands a new key over", () => {
    expectNoLeaks(material.cli());
  });

  it('no provider received a secret other than its own key (no gateway key, token or other provider key upstream)', () => {
    const all = secrets();
    for (const [p, sim] of Object.entries(sims)) {
      const own = new Set([PROVIDER_KEYS[p as CloudProvider], ...(p === 'openai' ? [TENANT_OPENAI_KEY] : [])]);
      expectNoLeaks(
        sim.requests.map((r, i) => ({
          source: `${p} simulator request ${i + 1} ${r.method} ${r.path}`,
          text: `${r.path}\n${JSON.stringify(r.headers)}\n${JSON.stringify(r.body)}`,
        })),
        // Its own key in clear is where it belongs; any of its derived forms there would be a leak too, but cannot be told apart from it.
        all.filter((s) => !own.has(s.value)),
      );
    }
  });
});

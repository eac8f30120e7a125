import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FormatId } from '../providers/canonical/types.js';
import { IGNORED_FIELDS, IGNORED_FIELDS_BY_FORMAT, KEY_PREFIX, cacheKey, canonicalJson } from './key.js';

const RAW = readFileSync(new URL('./fixtures/request.json', import.meta.url), 'utf8');
/** A typical ~2 KB chat request with tools, tool results and sampling parameters. */
const request = (): Record<string, unknown> => JSON.parse(RAW) as Record<string, unknown>;
const key = (req: Record<string, unknown>, tenant = 'acme', model = 'openai/gpt-4o-mini-2024-07-18') => cacheKey({ tenant, model, request: req });

/** The same value with every object's keys in reverse order, at every depth. */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reverseKeys(x)]),
  );
}

describe('cacheKey', () => {
  it('is llmgw:cache:v2:<tenant>:<sha256 hex>', () => {
    expect(KEY_PREFIX).toBe('llmgw:cache:v2:');
    expect(key(request())).toMatch(/^llmgw:cache:v2:acme:[0-9a-f]{64}$/);
  });

  it('keys an OpenAI caller when no API is named (what the current exchange calls)', () => {
    expect(key(request())).toBe(cacheKey({ tenant: 'acme', format: 'openai', model: 'openai/gpt-4o-mini-2024-07-18', request: request() }));
  });

  it('is deterministic', () => {
    expect(key(request())).toBe(key(request()));
  });

  it('ignores key order at every depth', () => {
    const reordered = reverseKeys(request()) as Record<string, unknown>;
    expect(Object.keys(reordered)[0]).toBe('user');
    expect(key(reordered)).toBe(key(request()));
  });

  it('ignores whitespace and number spelling in the body as sent', () => {
    const pretty = JSON.stringify(request(), null, 4);
    const compact = JSON.stringify(request());
    const oddNumbers = compact.replace('"temperature":0.2', '"temperature":2e-1').replace('"top_p":1', '"top_p":1.0');
    expect(oddNumbers).not.toBe(compact);
    const k = key(request());
    for (const body of [pretty, compact, oddNumbers, `\n\t ${compact} \r\n`]) expect(key(JSON.parse(body) as Record<string, unknown>)).toBe(k);
  });

  it('separates tenants', () => {
    const a = key(request(), 'acme');
    const b = key(request(), 'globex');
    expect(a).not.toBe(b);
    expect(a.slice(-64)).toBe(b.slice(-64)); // namespaced by prefix, same hash
    expect(b.startsWith('llmgw:cache:v2:globex:')).toBe(true);
  });

  it('uses the resolved model, not the model named in the request', () => {
    const auto = { ...request(), model: 'auto' };
    expect(key(auto)).toBe(key(request()));
    expect(key(request(), 'acme', 'openai/gpt-4o-2024-08-06')).not.toBe(key(request()));
  });

  it.each(IGNORED_FIELDS)('ignores %s', (field) => {
    const base = request();
    const withIt = { ...base, [field]: { some: 'value' } };
    const changed = { ...base, [field]: 'something else' };
    const without = { ...base };
    delete without[field];
    const k = key(base);
    expect(key(withIt)).toBe(k);
    expect(key(changed)).toBe(k);
    expect(key(without)).toBe(k);
  });

  it('ignores the documented transport and bookkeeping fields', () => {
    expect([...IGNORED_FIELDS].sort()).toEqual(
      [
        'metadata',
        'model',
        'prompt_cache_key',
        'prompt_cache_retention',
        'safety_identifier',
        'service_tier',
        'store',
        'stream',
        'stream_options',
        'user',
      ].sort(),
    );
    const k = key(request());
    const variant = {
      ...request(),
      stream: false,
      stream_options: null,
      user: 'someone-else',
      metadata: { a: '1' },
      store: true,
      service_tier: 'flex',
      safety_identifier: 'x',
      prompt_cache_key: 'k',
    };
    expect(key(variant)).toBe(k);
  });

  it('treats a top-level null as absent (OpenAI: null = not given)', () => {
    const base = request();
    const k = key(base);
    expect(key({ ...base, stop: null, response_format: null, logit_bias: null })).toBe(k);
    const noTemp = { ...base };
    delete noTemp.temperature;
    expect(key({ ...base, temperature: null })).toBe(key(noTemp));
  });

  // Every parameter that changes the answer changes the key, and no two variants collide.
  const mutate = (f: (r: Record<string, any>) => void) => () => {
    const r = request();
    f(r);
    return r;
  };
  const VARIANTS: [string, () => Record<string, unknown>][] = [
    ['message content', mutate((r) => (r.messages[1].content += ' Thanks!'))],
    ['message content (one character)', mutate((r) => (r.messages[1].content = r.messages[1].content.replace('Paris', 'paris')))],
    ['message role', mutate((r) => (r.messages[0].role = 'system'))],
    ['message name', mutate((r) => (r.messages[1].name = 'alice'))],
    ['message order', mutate((r) => r.messages.splice(3, 2, r.messages[4], r.messages[3]))],
    ['extra message', mutate((r) => r.messages.push({ role: 'user', content: 'And hotels?' }))],
    ['tool result', mutate((r) => (r.messages[3].content = r.messages[3].content.replace('14', '15')))],
    ['tool call arguments in history', mutate((r) => (r.messages[2].tool_calls[0].function.arguments = '{"location":"Paris","unit":"celsius"}'))],
    ['temperature', mutate((r) => (r.temperature = 0.3))],
    ['temperature 0 vs absent', mutate((r) => (r.temperature = 0))],
    ['top_p', mutate((r) => (r.top_p = 0.9))],
    ['max_completion_tokens', mutate((r) => (r.max_completion_tokens = 513))],
    ['max_tokens', mutate((r) => (r.max_tokens = 512))],
    ['tools (description)', mutate((r) => (r.tools[0].function.description += ' '))],
    ['tools (order)', mutate((r) => r.tools.reverse())],
    ['tools (removed)', mutate((r) => r.tools.pop())],
    ['tool_choice', mutate((r) => (r.tool_choice = 'required'))],
    ['tool_choice (named)', mutate((r) => (r.tool_choice = { type: 'function', function: { name: 'get_weather' } }))],
    ['parallel_tool_calls', mutate((r) => (r.parallel_tool_calls = false))],
    ['response_format', mutate((r) => (r.response_format = { type: 'json_object' }))],
    ['seed', mutate((r) => (r.seed = 43))],
    ['seed as a string', mutate((r) => (r.seed = '42'))],
    ['n', mutate((r) => (r.n = 2))],
    ['stop', mutate((r) => (r.stop = ['\n']))],
    ['stop (string)', mutate((r) => (r.stop = '\n'))],
    ['presence_penalty', mutate((r) => (r.presence_penalty = 0.5))],
    ['frequency_penalty', mutate((r) => (r.frequency_penalty = 0.5))],
    ['logit_bias', mutate((r) => (r.logit_bias = { '50256': -100 }))],
    ['logprobs', mutate((r) => (r.logprobs = true))],
    ['top_logprobs', mutate((r) => (r.top_logprobs = 3))],
    ['reasoning_effort', mutate((r) => (r.reasoning_effort = 'low'))],
    ['verbosity', mutate((r) => (r.verbosity = 'high'))],
    ['modalities', mutate((r) => (r.modalities = ['text', 'audio']))],
    ['prediction', mutate((r) => (r.prediction = { type: 'content', content: 'x' }))],
    ['web_search_options', mutate((r) => (r.web_search_options = {}))],
    ['unknown vendor field (top_k)', mutate((r) => (r.top_k = 40))],
    ['nested null kept', mutate((r) => (r.messages[1].name = null))],
  ];

  it.each(VARIANTS)('changes with %s', (_name, make) => {
    expect(key(make())).not.toBe(key(request()));
  });

  it('gives every variant its own key', () => {
    const keys = VARIANTS.map(([, make]) => key(make()));
    expect(new Set(keys).size).toBe(VARIANTS.length);
  });

  it('computes a typical 2 KB key fast (10,000 under 1 s; target ~20 µs each)', () => {
    const req = request();
    expect(JSON.stringify(req).length).toBeGreaterThan(2000);
    const time = (f: () => unknown, n: number): number => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) f();
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const n = 10_000;
    const floor = () => createHash('sha256').update(JSON.stringify(req)).digest('hex');
    for (let i = 0; i < 1000; i++) {
      key(req); // warm up
      floor();
    }
    // Best of five interleaved rounds, scaled to n: other test files share the cores, and a burst
    // of their work in one round must not decide the result.
    let ms = Infinity;
    // The floor on this machine for context: hashing the body as it is, with no canonical form.
    let floorMs = Infinity;
    for (let round = 0; round < 5; round++) {
      ms = Math.min(ms, time(() => key(req), n / 5) * 5);
      floorMs = Math.min(floorMs, time(floor, n / 5) * 5);
    }
    console.log(
      `cacheKey: ${((ms * 1000) / n).toFixed(1)} µs per 2.2 KB request (${n} in ${ms.toFixed(0)} ms); JSON.stringify+sha256 alone: ${((floorMs * 1000) / n).toFixed(1)} µs`,
    );
    // 1 s for 10,000 is the bound; on a machine so loaded that even the floor takes a quarter of
    // that, allow 4× the floor instead, so a busy CI box does not fail a correct implementation.
    expect(ms).toBeLessThan(Math.max(1000, 4 * floorMs));
  });
});

describe('canonicalJson', () => {
  it('is JSON.stringify with keys sorted at every depth', () => {
    const v = { b: [3, { z: 1, a: [null, 'x'] }], a: { d: true, c: 'é"\n\u2028😀' }, e: -0, f: 1e21 };
    expect(canonicalJson(v)).toBe('{"a":{"c":"é\\"\\n\u2028😀","d":true},"b":[3,{"a":[null,"x"],"z":1}],"e":0,"f":1e+21}');
    expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
  });

  it('follows JSON.stringify for values JSON cannot hold', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, NaN, Infinity], c: () => 1 })).toBe('{"b":[null,null,null]}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson('s')).toBe('"s"');
    expect(canonicalJson(null)).toBe('null');
  });

  it('puts array-index keys first, numerically, as JavaScript orders them', () => {
    const v = { b: 1, '10': 1, '9': 1, a: 1, '01': 1, '-1': 1, '4294967294': 1, '4294967295': 1 };
    expect(Object.keys(JSON.parse(canonicalJson(v)) as object)).toEqual(['9', '10', '4294967294', '-1', '01', '4294967295', 'a', 'b']);
    expect(canonicalJson(v)).toBe('{"9":1,"10":1,"4294967294":1,"-1":1,"01":1,"4294967295":1,"a":1,"b":1}');
  });

  it('keeps a "__proto__" key as data', () => {
    const a = JSON.parse('{"__proto__":{"x":1},"b":2}') as unknown;
    const b = JSON.parse('{"__proto__":{"x":2},"b":2}') as unknown;
    expect(canonicalJson(a)).toBe('{"__proto__":{"x":1},"b":2}');
    expect(cacheKey({ tenant: 't', model: 'm', request: a as Record<string, unknown> })).not.toBe(
      cacheKey({ tenant: 't', model: 'm', request: b as Record<string, unknown> }),
    );
  });

  it('handles nesting deeper than the call stack (JSON.parse accepts it)', () => {
    const depth = 200_000;
    const deep = JSON.parse(`${'['.repeat(depth)}{"b":1,"a":2}${']'.repeat(depth)}`) as unknown;
    const out = canonicalJson(deep);
    expect(out.length).toBe(2 * depth + '{"a":2,"b":1}'.length);
    expect(out.slice(depth - 1, depth + 14)).toBe('[{"a":2,"b":1}]');
    expect(() => cacheKey({ tenant: 't', model: 'm', request: { messages: deep } })).not.toThrow();
  });

  it('writes the same text on the deep (iterative) path as on the fast path', () => {
    const samples: unknown[] = [
      request(),
      { b: [3, { z: 1, a: [null, 'x', undefined, NaN] }], a: { d: true, c: 'é"\n\u2028😀\ud800' }, e: -0, f: 1e21, g: undefined },
      { '10': 1, '9': [], b: {}, a: '', '01': 0, '4294967295': 'x', '-1': false },
      JSON.parse('{"__proto__":{"x":1},"b":2}'),
      [],
      'plain',
      null,
    ];
    for (const v of samples) {
      const fast = canonicalJson(v);
      let wrapped: unknown = v;
      for (let i = 0; i < 300; i++) wrapped = { w: wrapped };
      expect(canonicalJson(wrapped)).toBe('{"w":'.repeat(300) + fast + '}'.repeat(300));
    }
  });

  it('distinguishes values that only differ in type or structure', () => {
    const forms = [
      { a: '1' },
      { a: 1 },
      { a: [1] },
      { a: { '1': 1 } },
      { a: true },
      { a: 'true' },
      { a: null },
      { a: 'null' },
      { a: [] },
      { a: {} },
      { a: '' },
    ];
    expect(new Set(forms.map(canonicalJson)).size).toBe(forms.length);
  });
});

describe('cacheKey per caller API', () => {
  const fixture = (path: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as Record<string, unknown>;
  /** A representative request of each API (tools, history, sampling), as its callers send it. */
  const BODIES: Record<FormatId, () => Record<string, unknown>> = {
    openai: request,
    anthropic: () => ({ ...fixture('../providers/anthropic/fixtures/messages-request-tools.json'), temperature: 0.5, stop_sequences: ['END'] }),
    gemini: () => ({
      ...fixture('../providers/gemini/fixtures/request-function-calling.json'),
      generationConfig: { temperature: 0.4, maxOutputTokens: 256 },
      safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }],
    }),
    ollama: () => fixture('../providers/ollama/fixtures/chat-request-options.json'),
  };
  const APIS = Object.keys(BODIES) as FormatId[];
  const keyOf = (format: FormatId, req: Record<string, unknown>, tenant = 'acme', model = 'cat/model-1') => cacheKey({ tenant, format, model, request: req });

  it('ignores exactly the documented fields of each API', () => {
    expect(IGNORED_FIELDS_BY_FORMAT.openai).toBe(IGNORED_FIELDS);
    expect([...IGNORED_FIELDS_BY_FORMAT.anthropic].sort()).toEqual(['cache_control', 'inference_geo', 'metadata', 'model', 'service_tier', 'stream'].sort());
    expect([...IGNORED_FIELDS_BY_FORMAT.gemini].sort()).toEqual(['model', 'serviceTier']);
    expect([...IGNORED_FIELDS_BY_FORMAT.ollama].sort()).toEqual(['keep_alive', 'model', 'stream']);
  });

  const ignoredCases = APIS.flatMap((api) => IGNORED_FIELDS_BY_FORMAT[api].map((field) => [api, field] as const));
  it.each(ignoredCases)('%s: ignores %s (added, changed, removed)', (api, field) => {
    const base = BODIES[api]();
    const k = keyOf(api, base);
    const without = { ...base };
    delete without[field];
    expect(keyOf(api, { ...base, [field]: { some: 'value' } })).toBe(k);
    expect(keyOf(api, { ...base, [field]: true })).toBe(k);
    expect(keyOf(api, without)).toBe(k);
  });

  it.each(APIS)('%s: ignores key order at every depth, whitespace and number spelling', (api) => {
    const base = BODIES[api]();
    const k = keyOf(api, base);
    expect(keyOf(api, reverseKeys(base) as Record<string, unknown>)).toBe(k);
    expect(keyOf(api, JSON.parse(JSON.stringify(base, null, 3)) as Record<string, unknown>)).toBe(k);
    const compact = JSON.stringify(base);
    const oddNumbers = compact.replace(/:0\.([0-9])(?=[,}\]])/g, ':$1e-1');
    expect(oddNumbers).not.toBe(compact);
    expect(keyOf(api, JSON.parse(oddNumbers) as Record<string, unknown>)).toBe(k);
  });

  it.each(APIS)('%s: a top-level null is the field left out', (api) => {
    const base = BODIES[api]();
    expect(keyOf(api, { ...base, tools: null, some_new_field: null })).toBe(keyOf(api, (({ tools: _t, ...rest }) => rest)(base)));
  });

  it.each(APIS)('%s: the tenant is a prefix outside the hash', (api) => {
    const a = keyOf(api, BODIES[api](), 'acme');
    const b = keyOf(api, BODIES[api](), 'team:blue');
    expect(a).toMatch(/^llmgw:cache:v2:acme:[0-9a-f]{64}$/);
    expect(b.startsWith('llmgw:cache:v2:team:blue:')).toBe(true);
    expect(a.slice(-64)).toBe(b.slice(-64));
  });

  it.each(APIS)('%s: the resolved model is keyed, not the one named', (api) => {
    const base = BODIES[api]();
    expect(keyOf(api, { ...base, model: 'auto' })).toBe(keyOf(api, base));
    expect(keyOf(api, base, 'acme', 'cat/model-2')).not.toBe(keyOf(api, base));
  });

  it('never gives two APIs the same entry, even for the same body', () => {
    for (const body of Object.values(BODIES).map((make) => make())) {
      const keys = APIS.map((api) => keyOf(api, body));
      expect(new Set(keys).size).toBe(APIS.length);
    }
    expect(new Set(APIS.map((api) => keyOf(api, {}))).size).toBe(APIS.length);
  });

  const mutate = (api: FormatId, f: (r: Record<string, any>) => void) => () => {
    const r = BODIES[api]();
    f(r);
    return r;
  };
  const VARIANTS: [FormatId, string, () => Record<string, unknown>][] = [
    ['anthropic', 'max_tokens', mutate('anthropic', (r) => (r.max_tokens = 1023))],
    ['anthropic', 'system', mutate('anthropic', (r) => (r.system[0].text += '!'))],
    ['anthropic', 'block-level cache_control (nested, kept)', mutate('anthropic', (r) => delete r.system[0].cache_control)],
    ['anthropic', 'a message', mutate('anthropic', (r) => (r.messages[0].content += '?'))],
    ['anthropic', 'temperature', mutate('anthropic', (r) => (r.temperature = 0.6))],
    ['anthropic', 'top_k', mutate('anthropic', (r) => (r.top_k = 5))],
    ['anthropic', 'stop_sequences', mutate('anthropic', (r) => (r.stop_sequences = ['STOP']))],
    ['anthropic', 'tool_choice', mutate('anthropic', (r) => (r.tool_choice = { type: 'any' }))],
    ['anthropic', 'thinking', mutate('anthropic', (r) => (r.thinking = { type: 'enabled', budget_tokens: 2048 }))],
    ['anthropic', 'an unknown field (speed)', mutate('anthropic', (r) => (r.speed = 'fast'))],
    ['gemini', 'safetySettings', mutate('gemini', (r) => (r.safetySettings[0].threshold = 'BLOCK_NONE'))],
    ['gemini', 'safetySettings removed', mutate('gemini', (r) => delete r.safetySettings)],
    ['gemini', 'generationConfig.temperature', mutate('gemini', (r) => (r.generationConfig.temperature = 0.5))],
    ['gemini', 'generationConfig.candidateCount', mutate('gemini', (r) => (r.generationConfig.candidateCount = 2))],
    ['gemini', 'systemInstruction', mutate('gemini', (r) => (r.systemInstruction = { parts: [{ text: 'Be brief.' }] }))],
    ['gemini', 'toolConfig', mutate('gemini', (r) => (r.toolConfig = { functionCallingConfig: { mode: 'ANY' } }))],
    ['gemini', 'cachedContent', mutate('gemini', (r) => (r.cachedContent = 'cachedContents/abc'))],
    ['gemini', 'contents', mutate('gemini', (r) => (r.contents[0].parts[0].text += ' '))],
    ['ollama', 'options.temperature', mutate('ollama', (r) => (r.options.temperature = 0.7))],
    ['ollama', 'options.num_ctx (truncation changes the prompt)', mutate('ollama', (r) => (r.options.num_ctx = 2048))],
    ['ollama', 'format', mutate('ollama', (r) => (r.format = 'json'))],
    ['ollama', 'think', mutate('ollama', (r) => (r.think = true))],
    ['ollama', 'tools', mutate('ollama', (r) => (r.tools = BODIES.openai().tools))],
    ['ollama', 'messages', mutate('ollama', (r) => r.messages.push({ role: 'assistant', content: 'Hi' }))],
  ];

  it.each(VARIANTS)('%s: changes with %s', (api, _name, make) => {
    expect(keyOf(api, make())).not.toBe(keyOf(api, BODIES[api]()));
  });

  it('gemini: snake_case and camelCase top-level names share entries; both at once stays apart', () => {
    const camel = BODIES.gemini();
    const snake: Record<string, unknown> = {
      contents: camel.contents,
      tools: camel.tools,
      generation_config: camel.generationConfig,
      safety_settings: camel.safetySettings,
    };
    expect(keyOf('gemini', snake)).toBe(keyOf('gemini', camel));
    expect(keyOf('gemini', { ...camel, service_tier: 'priority' })).toBe(keyOf('gemini', camel));
    expect(keyOf('gemini', { ...camel, serviceTier: 'flex' })).toBe(keyOf('gemini', camel));
    const both = { ...camel, generation_config: { temperature: 1 } };
    expect(keyOf('gemini', both)).not.toBe(keyOf('gemini', camel));
    expect(keyOf('gemini', both)).not.toBe(keyOf('gemini', { ...camel, generationConfig: { temperature: 1 } }));
    // Only Gemini reads both spellings.
    expect(keyOf('openai', { ...request(), streamOptions: { include_usage: true } })).not.toBe(keyOf('openai', request()));
  });
});

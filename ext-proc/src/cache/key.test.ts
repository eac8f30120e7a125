import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IGNORED_FIELDS, cacheKey, canonicalJson } from './key.js';

const RAW = readFileSync(new URL('./fixtures/request.json', import.meta.url), 'utf8');
/** A typical ~2 KB chat request with tools, tool results and sampling parameters. */
const request = (): Record<string, unknown> => JSON.parse(RAW) as Record<string, unknown>;
const key = (req: Record<string, unknown>, tenant = 'acme', model = 'openai/gpt-4o-mini-2024-07-18') => cacheKey({ tenant, model, request: req });

/** The same value with every object's keys in reverse order, at every depth. */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)]));
}

describe('cacheKey', () => {
  it('is llmgw:cache:v1:<tenant>:<sha256 hex>', () => {
    expect(key(request())).toMatch(/^llmgw:cache:v1:acme:[0-9a-f]{64}$/);
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
    expect(b.startsWith('llmgw:cache:v1:globex:')).toBe(true);
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
      ['metadata', 'model', 'prompt_cache_key', 'prompt_cache_retention', 'safety_identifier', 'service_tier', 'store', 'stream', 'stream_options', 'user'].sort(),
    );
    const k = key(request());
    const variant = { ...request(), stream: false, stream_options: null, user: 'someone-else', metadata: { a: '1' }, store: true, service_tier: 'flex', safety_identifier: 'x', prompt_cache_key: 'k' };
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
      for (let i = 0; i < 1000; i++) f(); // warm up
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) f();
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const n = 10_000;
    const ms = time(() => key(req), n);
    // The floor on this machine for context: hashing the body as it is, with no canonical form.
    const floorMs = time(() => createHash('sha256').update(JSON.stringify(req)).digest('hex'), n);
    console.log(`cacheKey: ${((ms * 1000) / n).toFixed(1)} µs per 2.2 KB request (${n} in ${ms.toFixed(0)} ms); JSON.stringify+sha256 alone: ${((floorMs * 1000) / n).toFixed(1)} µs`);
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
    expect(cacheKey({ tenant: 't', model: 'm', request: a as Record<string, unknown> })).not.toBe(cacheKey({ tenant: 't', model: 'm', request: b as Record<string, unknown> }));
  });

  it('handles nesting deeper than the call stack (JSON.parse accepts it)', () => {
    const depth = 200_000;
    const deep = JSON.parse('['.repeat(depth) + '{"b":1,"a":2}' + ']'.repeat(depth)) as unknown;
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
    const forms = [{ a: '1' }, { a: 1 }, { a: [1] }, { a: { '1': 1 } }, { a: true }, { a: 'true' }, { a: null }, { a: 'null' }, { a: [] }, { a: {} }, { a: '' }];
    expect(new Set(forms.map(canonicalJson)).size).toBe(forms.length);
  });
});

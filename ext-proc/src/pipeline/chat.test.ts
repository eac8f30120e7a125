import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../cache/key.js';
import { GatewayError } from '../errors.js';
import type { FormatId } from '../providers/canonical/types.js';
import { FORMATS } from '../providers/formats.js';
import { MAX_JSON_DEPTH } from '../util/json-depth.js';
import { type Caller, readHead } from './caller.js';
import { readChatRequest } from './chat.js';

/** Just enough of an authenticated caller for the body phase: readChatRequest reads the head only. */
function callerOf(api: FormatId): Caller {
  const paths: Record<FormatId, string> = {
    openai: '/v1/chat/completions',
    anthropic: '/v1/messages',
    gemini: '/v1beta/models/gemini-2.5-flash:generateContent',
    ollama: '/api/chat',
  };
  return readHead({ ':method': 'POST', ':path': paths[api] }, 'rid-test') as Caller;
}

const nestedObject = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const nestedArray = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
/** A JSON Schema whose `properties` nest `levels` objects; Google's Schema spells its types in capitals. */
function schemaText(levels: number, google = false): string {
  const [obj, str] = google ? ['OBJECT', 'STRING'] : ['object', 'string'];
  return `${`{"type":"${obj}","properties":{"x":`.repeat(levels)}{"type":"${str}"}${'}}'.repeat(levels)}`;
}

/** A minimal valid body of each API with `extra` spliced in as its last field. */
function bodyWith(api: FormatId, extra: string): string {
  switch (api) {
    case 'openai':
      return `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],${extra}}`;
    case 'anthropic':
      return `{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}],${extra}}`;
    case 'gemini':
      return `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],${extra}}`;
    case 'ollama':
      return `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],${extra}}`;
  }
}

/** A tool whose parameters are `schema`, in each API's own spelling. */
function toolField(api: FormatId, schema: string): string {
  switch (api) {
    case 'openai':
    case 'ollama':
      return `"tools":[{"type":"function","function":{"name":"f","parameters":${schema}}}]`;
    case 'anthropic':
      return `"tools":[{"name":"f","input_schema":${schema}}]`;
    case 'gemini':
      return `"tools":[{"functionDeclarations":[{"name":"f","parameters":${schema}}]}]`;
  }
}

function read(api: FormatId, body: string) {
  return readChatRequest(callerOf(api), Buffer.from(body, 'utf8'));
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

const APIS: FormatId[] = ['openai', 'anthropic', 'gemini', 'ollama'];

describe('readChatRequest: nesting depth', () => {
  for (const api of APIS) {
    it(`${api}: a body nested 100k deep in an unknown field is a 400 in the caller's API, not a crash`, () => {
      for (const deep of [nestedObject(100_000), nestedArray(100_000)]) {
        const e = thrown(() => read(api, bodyWith(api, `"x_unknown":${deep}`)));
        expect(e).toBeInstanceOf(GatewayError);
        const g = e as GatewayError;
        expect(g.status).toBe(400);
        expect(g.kind).toBe('invalid_request');
        expect(g.message).toContain(`at most ${MAX_JSON_DEPTH} levels`);
        // Every API renders it its own way.
        const rendered = JSON.parse(callerOf(api).caller.renderError(g)) as Record<string, any>;
        if (api === 'openai') expect(rendered.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_value' });
        if (api === 'anthropic') expect(rendered).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
        if (api === 'gemini') expect(rendered.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
        if (api === 'ollama') expect(typeof rendered.error).toBe('string');
      }
    });

    it(`${api}: a tool schema 5k deep is refused before any translation sees it`, () => {
      const e = thrown(() => read(api, bodyWith(api, toolField(api, schemaText(5000, api === 'gemini')))));
      expect(e).toBeInstanceOf(GatewayError);
      expect((e as GatewayError).status).toBe(400);
    });

    it(`${api}: a tool schema 20 objects deep is read, translated for every backend, and keyed for the cache`, () => {
      const request = read(api, bodyWith(api, toolField(api, schemaText(20, api === 'gemini'))));
      const params = request.chat.tools?.[0]?.parameters;
      expect(schemaDepth(params)).toBe(20);
      expect(canonicalJson(request.parsed)).toContain('"properties"');
      for (const backend of Object.values(FORMATS)) {
        const built = JSON.stringify(backend.buildRequest(request.chat, 'upstream-model'));
        // The whole chain of `properties` made it into the backend's body.
        expect(built.split('"properties"').length - 1, `${api} → ${backend.id}`).toBe(20);
      }
    });
  }

  it('the limit is the whole body: exactly MAX_JSON_DEPTH levels pass, one more is refused', () => {
    // The body is level 1, so the field may hold MAX_JSON_DEPTH - 1 more.
    expect(() => read('openai', bodyWith('openai', `"x_unknown":${nestedArray(MAX_JSON_DEPTH - 1)}`))).not.toThrow();
    expect(() => read('openai', bodyWith('openai', `"x_unknown":${nestedArray(MAX_JSON_DEPTH)}`))).toThrow(GatewayError);
  });

  it('malformed JSON is still its own 400', () => {
    const e = thrown(() => read('openai', '{"model":')) as GatewayError;
    expect(e.opts.code).toBe('invalid_json');
  });
});

/** How many `properties.x` levels a schema has (iteratively, like the bodies that carry it). */
function schemaDepth(schema: unknown): number {
  let depth = 0;
  let s = schema as { properties?: { x?: unknown } } | undefined;
  while (s?.properties?.x) {
    depth++;
    s = s.properties.x as typeof s;
  }
  return depth;
}

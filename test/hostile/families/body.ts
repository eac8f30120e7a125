/*
 * Hostile request bodies: malformed JSON, wrong types, odd numbers, huge and deep arrays, JSON
 * tricks (duplicate keys, prototype keys), giant tool schemas, bad images, model name tricks.
 */
import { API_SPECS, BACKEND_MODEL, CROSS_MODEL, PROMPT, setAt, withRaw, type FieldSpec, type FieldType, type Json, type JsonObject } from '../apis.js';
import { chat, nested, slug, validBody } from '../build.js';
import { APIS, type Api, type Expect, type HostileCase } from '../types.js';

const REJECT: Expect = { kind: 'reject' };
const TOLERATE: Expect = { kind: 'tolerate' };

// ---------------------------------------------------------------------------------------------
// json: malformed and truncated JSON, bytes that are not UTF-8, lone surrogates

/** A body with every kind of token in it, for truncation at many places. */
function richBody(api: Api): JsonObject {
  const base = validBody(api);
  return { ...base, temperature_hint: 0.5, tags: ['a', 'b\u00e9\u4e2d', null, true, false, 12.5e-3], note: 'esc \\"q\\" \\u00e9 \n' };
}

/** A valid body with `inner` (raw JSON text of a string, bytes included) as the user's text. */
function withText(api: Api, inner: Buffer): Buffer {
  const marker = 'HOSTILE_TEXT_MARKER';
  const text = JSON.stringify(API_SPECS[api].body(BACKEND_MODEL[api], false, marker));
  const [before, after] = text.split(marker) as [string, string];
  return Buffer.concat([Buffer.from(before), inner, Buffer.from(after)]);
}

function jsonCases(api: Api): HostileCase[] {
  const out: HostileCase[] = [];
  const add = (name: string, body: string | Buffer, expect: Expect = REJECT) =>
    out.push({ name: `json/${api}/${name}`, api, family: 'json', answer: 'chat', request: chat(api, body), expect });
  const valid = JSON.stringify(validBody(api));

  const malformed: Array<[string, string]> = [
    ['empty body', ''],
    ['whitespace only', ' \r\n\t '],
    ['null', 'null'],
    ['true', 'true'],
    ['number', '123'],
    ['string', '"hello"'],
    ['empty array', '[]'],
    ['array of the valid body', `[${valid}]`],
    ['lone open brace', '{'],
    ['lone close brace', '}'],
    ['empty object', '{}'],
    ['key without value', '{"model"}'],
    ['key with colon, no value', '{"model":}'],
    ['unquoted keys', valid.replace(/"(\w+)":/g, '$1:')],
    ['single quotes', valid.replaceAll('"', "'")],
    ['trailing comma in object', valid.replace(/}$/, ',}')],
    ['trailing comma in array', valid.replace(/](?=[^\]]*$)/, ',]')],
    ['block comment', `/* hi */ ${valid}`],
    ['line comment after', `${valid} // bye`],
    ['two objects', `${valid}${valid}`],
    ['garbage after the object', `${valid} xyz`],
    ['NaN literal as the body', 'NaN'],
    ['numeric keys', '{1:2}'],
    ['unescaped newline in a string', valid.replace(PROMPT, 'line one\nline two')],
    ['unescaped tab and bell in a string', valid.replace(PROMPT, 'a\tb\u0007c')],
    ['invalid escape \\x41', valid.replace(PROMPT, '\\x41')],
    ['truncated unicode escape', valid.replace(PROMPT, '\\u12')],
    ['backslash at the end of a string', valid.replace(PROMPT, 'abc\\')],
    ['unterminated string', valid.slice(0, valid.indexOf(PROMPT) + 5)],
    ['HTML instead of JSON', '<html><body>hello</body></html>'],
    ['form encoding instead of JSON', 'model=gpt-4o-mini&messages=hi'],
    ['XML instead of JSON', '<?xml version="1.0"?><request><model>x</model></request>'],
  ];
  for (const [name, body] of malformed) add(name, body);
  // Legal JSON, however odd: whitespace may surround the value.
  add('100k spaces then the body', `${' '.repeat(100_000)}${valid}`, TOLERATE);

  // Bytes: encodings and invalid UTF-8. Inside a string a server may decode leniently; outside one it cannot.
  add('UTF-8 BOM before the body', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid)]), TOLERATE);
  add('UTF-16LE body', Buffer.from(valid, 'utf16le'));
  add('UTF-16BE body with BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(valid, 'utf16le').swap16()]));
  add('NUL byte between tokens', Buffer.from(valid.replace(/^\{/, '{\u0000')));
  add('invalid UTF-8 between tokens', Buffer.concat([Buffer.from('{'), Buffer.from([0xff]), Buffer.from(valid.slice(1))]));
  add('raw NUL byte inside a string', withText(api, Buffer.from([0x61, 0x00, 0x62])));
  const badUtf8: Array<[string, number[]]> = [
    ['0xFF byte', [0x61, 0xff, 0x62]],
    ['0xC3 0x28 (bad continuation)', [0xc3, 0x28]],
    ['overlong slash 0xC0 0xAF', [0xc0, 0xaf]],
    ['UTF-8 encoded surrogate 0xED 0xA0 0x80', [0xed, 0xa0, 0x80]],
    ['5-byte sequence', [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ['truncated 3-byte sequence', [0xe2, 0x82]],
    ['code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['lone continuation bytes', [0x80, 0x81, 0xbf]],
  ];
  for (const [name, bytes] of badUtf8) add(`invalid UTF-8 in a string: ${name}`, withText(api, Buffer.from(bytes)), TOLERATE);
  const surrogates: Array<[string, string]> = [
    ['lone high surrogate escape', '\\ud800'],
    ['lone low surrogate escape', '\\udfff'],
    ['reversed surrogate pair', '\\udc00\\ud800'],
    ['high surrogate at the end of the text', `${PROMPT}\\ud83d`],
    ['escaped NUL', 'a\\u0000b'],
    ['right-to-left override', '\\u202egnp.exe'],
  ];
  for (const [name, esc] of surrogates) add(name, withText(api, Buffer.from(esc)), TOLERATE);

  // Truncation at 20 places spread over a body holding every kind of token: never valid JSON.
  const rich = JSON.stringify(richBody(api));
  const cuts = new Set<number>();
  for (let i = 1; i <= 20; i++) cuts.add(Math.floor((rich.length * i) / 21));
  for (const cut of cuts) add(`truncated at ${cut} of ${rich.length} bytes`, rich.slice(0, cut));
  return out;
}

// ---------------------------------------------------------------------------------------------
// types: a wrong JSON type for each field

const SAMPLES: Array<[string, Json]> = [
  ['a string', 'x'],
  ['a number', 2.5],
  ['a boolean', true],
  ['null', null],
  ['an empty array', []],
  ['an array', [1, 'a']],
  ['an empty object', {}],
  ['an object', { a: 1 }],
];

function accepts(type: FieldType, v: Json): boolean {
  const isObj = typeof v === 'object' && v !== null && !Array.isArray(v);
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'int':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'bool':
      return typeof v === 'boolean';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isObj;
    case 'string|array':
      return typeof v === 'string' || Array.isArray(v);
    case 'string|object':
      return typeof v === 'string' || isObj;
    case 'string|number':
      return typeof v === 'string' || typeof v === 'number';
    case 'bool|string':
      return typeof v === 'boolean' || typeof v === 'string';
  }
}

function typeCases(api: Api): HostileCase[] {
  const spec = API_SPECS[api];
  const out: HostileCase[] = [];
  for (const f of spec.fields) {
    for (const [what, v] of SAMPLES) {
      if (v === null ? f.nullable : accepts(f.type, v)) continue;
      const body = setAt(validBody(api), f.path, v);
      out.push({ name: `types/${api}/${f.path.join('.')} as ${what}`, api, family: 'types', answer: 'chat', request: chat(api, body), expect: REJECT });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// numbers: null, NaN, huge, tiny and negative values; a stray `n` where the API has none

/** Raw JSON literals; some are not JSON at all (NaN), some overflow a double (1e309). */
const NUMBERS: Array<[string, string]> = [
  ['0', '0'],
  ['-1', '-1'],
  ['-1e6', '-1e6'],
  ['1e-9', '1e-9'],
  ['0.5', '0.5'],
  ['2.0', '2.0'],
  ['2^40', '1099511627776'],
  ['2^53+1', '9007199254740993'],
  ['1e300', '1e300'],
  ['-1e300', '-1e300'],
  ['1e309 (overflows to Infinity)', '1e309'],
  ['NaN literal', 'NaN'],
  ['Infinity literal', 'Infinity'],
  ['numeric string "1"', '"1"'],
  ['leading zero 01', '01'],
];

/** What the API must do with this literal in this field: refuse it, or take it (a success or a 4xx). */
function numberExpect(f: FieldSpec | undefined, raw: string): Expect {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return REJECT; // not JSON
  }
  if (f === undefined) return TOLERATE; // a stray field: any JSON value is ignorable
  if (typeof v !== 'number' || !Number.isFinite(v)) return REJECT;
  if (f.type === 'int' && !Number.isSafeInteger(v)) return REJECT;
  if (f.anyValue) return TOLERATE;
  if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) return REJECT;
  return TOLERATE;
}

function numberCases(api: Api): HostileCase[] {
  const spec = API_SPECS[api];
  const out: HostileCase[] = [];
  const add = (label: string, model: string, path: Array<string | number>, f: FieldSpec | undefined, raw: string, what: string) => {
    const body = withRaw(spec.withModel(validBody(api, model), model), path, raw);
    out.push({
      name: `numbers/${api}/${label}${path.join('.')} = ${what}`,
      api,
      family: 'numbers',
      answer: 'chat',
      request: chat(api, body, { model }),
      expect: numberExpect(f, raw),
    });
  };
  for (const f of spec.numbers) for (const [what, raw] of NUMBERS) add('', BACKEND_MODEL[api], f.path, f, raw, what);
  // The translation paths see the same numbers: the first two fields, to a backend of another API.
  for (const f of spec.numbers.slice(0, 2)) for (const [what, raw] of NUMBERS) add(`to ${CROSS_MODEL[api]}: `, CROSS_MODEL[api], f.path, f, raw, what);
  // A stray `n` (only OpenAI has one): ignorable whatever its value, as long as it is JSON.
  if (api !== 'openai') for (const [what, raw] of NUMBERS) add('stray ', BACKEND_MODEL[api], ['n'], undefined, raw, what);
  if (api === 'ollama') for (const [what, raw] of NUMBERS.slice(0, 12)) add('stray ', BACKEND_MODEL[api], ['options', 'n'], undefined, raw, what);
  return out;
}

// ---------------------------------------------------------------------------------------------
// arrays: empty and 10k-element arrays, deep nesting

const TEN_K = 10_000;
const TINY_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

function arrayCases(api: Api): HostileCase[] {
  const spec = API_SPECS[api];
  const out: HostileCase[] = [];
  const add = (name: string, body: JsonObject | string, expect: Expect) =>
    out.push({ name: `arrays/${api}/${name}`, api, family: 'arrays', answer: 'chat', request: chat(api, body), expect });
  const listPath = api === 'gemini' ? ['contents'] : ['messages'];
  const valid = validBody(api);

  add('empty message list', setAt(valid, listPath, []), REJECT);
  add('10k messages', spec.manyMessages(TEN_K), TOLERATE);
  add(
    '10k nulls as messages',
    setAt(
      valid,
      listPath,
      Array.from({ length: TEN_K }, () => null),
    ),
    REJECT,
  );
  add(
    '10k empty objects as messages',
    setAt(
      valid,
      listPath,
      Array.from({ length: TEN_K }, () => ({})),
    ),
    REJECT,
  );
  const parts: Record<Api, [Array<string | number>, Json]> = {
    openai: [['messages', 0, 'content'], Array.from({ length: TEN_K }, (_, i) => ({ type: 'text', text: `p${i}` }))],
    anthropic: [['messages', 0, 'content'], Array.from({ length: TEN_K }, (_, i) => ({ type: 'text', text: `p${i}` }))],
    gemini: [['contents', 0, 'parts'], Array.from({ length: TEN_K }, (_, i) => ({ text: `p${i}` }))],
    ollama: [['messages', 0, 'images'], Array.from({ length: TEN_K }, () => TINY_PNG)],
  };
  add(api === 'ollama' ? '10k images in one message' : '10k content parts in one message', setAt(valid, ...parts[api]), TOLERATE);
  const stops = Array.from({ length: TEN_K }, (_, i) => `stop${i}`);
  // OpenAI documents at most 4 stop sequences, Gemini at most 5; Anthropic and Ollama no limit.
  add('10k stop sequences', setAt(valid, spec.stopPath, stops), api === 'openai' || api === 'gemini' ? REJECT : TOLERATE);
  const tools = Array.from({ length: TEN_K }, (_, i) => ({ name: `tool_${i}`, parameters: { type: 'object', properties: {} } }));
  add('10k tools', spec.withTools(valid, tools), TOLERATE);
  add('10k-element unknown field', { ...valid, x_unknown: Array.from({ length: TEN_K }, (_, i) => i) }, TOLERATE);
  add('10k-key unknown object', { ...valid, x_unknown: Object.fromEntries(Array.from({ length: TEN_K }, (_, i) => [`k${i}`, i])) }, TOLERATE);

  // Deep nesting: JSON that is legal but costs a recursive parser or validator its stack.
  const validText = JSON.stringify(valid);
  const inject = (raw: string) => validText.replace(/^\{/, `{"x_deep":${raw},`);
  add('nesting 50 deep in an unknown field', inject(nested(50, 'array')), TOLERATE);
  add('arrays nested 10k deep in an unknown field', inject(nested(10_000, 'array')), REJECT);
  add('arrays nested 100k deep in an unknown field', inject(nested(100_000, 'array')), REJECT);
  add('objects nested 100k deep in an unknown field', inject(nested(100_000, 'object')), REJECT);
  add('100k open brackets, never closed', inject(nested(100_000, 'array', false)), REJECT);
  const contentPath = api === 'gemini' ? ['contents', 0, 'parts', 0, 'text'] : ['messages', 0, 'content'];
  add('arrays nested 100k deep as the message content', withRaw(valid, contentPath, nested(100_000, 'array')), REJECT);
  const toolBody = spec.withTools(valid, [{ name: 'deep', parameters: { type: 'object', properties: '__DEEP__' } }]);
  add('objects nested 100k deep in a tool schema', JSON.stringify(toolBody).replace('"__DEEP__"', nested(100_000, 'object')), REJECT);
  return out;
}

// ---------------------------------------------------------------------------------------------
// semantics: duplicate keys, unknown and prototype keys, giant tool schemas, bad images

function semanticCases(api: Api): HostileCase[] {
  const spec = API_SPECS[api];
  const out: HostileCase[] = [];
  const add = (name: string, body: JsonObject | string, expect: Expect, model = BACKEND_MODEL[api]) =>
    out.push({ name: `semantics/${api}/${name}`, api, family: 'semantics', answer: 'chat', request: chat(api, body, { model }), expect });
  const valid = validBody(api);
  const text = JSON.stringify(valid);
  const open = (extra: string) => text.replace(/^\{/, `{${extra},`);
  const listKey = api === 'gemini' ? 'contents' : 'messages';

  if (api !== 'gemini') {
    add('duplicate model, the last unknown', `${text.slice(0, -1)},"model":"no-such-model-x"}`, TOLERATE);
    add('duplicate model, the first unknown', open('"model":"no-such-model-x"'), TOLERATE);
    add('duplicate model, the last a number', `${text.slice(0, -1)},"model":42}`, TOLERATE);
  }
  add(`duplicate ${listKey}, the last empty`, `${text.slice(0, -1)},"${listKey}":[]}`, TOLERATE);
  add(`duplicate ${listKey}, the first empty`, open(`"${listKey}":[]`), TOLERATE);
  add('duplicate stream, true then false', open('"stream":true,"stream":false'), TOLERATE);
  add('one key repeated 10k times', open(Array.from({ length: TEN_K }, (_, i) => `"x_dup":${i}`).join(',')), TOLERATE);
  add('unknown top-level field', { ...valid, x_hostile: 'value' }, TOLERATE);
  add('unknown top-level field of 100 KB', { ...valid, x_hostile: 'z'.repeat(100_000) }, TOLERATE);
  add('unknown field inside a message', setAt(valid, [listKey, 0, 'x_hostile'], { a: [1, 2, 3] }), TOLERATE);
  add('__proto__ key at the top', open('"__proto__":{"model":"x","polluted":true}'), TOLERATE);
  add('__proto__ key in a message', text.replace('{"role"', '{"__proto__":{"role":"system"},"role"'), TOLERATE);
  add('constructor.prototype keys', open('"constructor":{"prototype":{"polluted":true}}'), TOLERATE);
  add('empty key', open('"":1'), TOLERATE);
  add('keys with NUL and emoji', open('"a\\u0000b":1,"\ud83d\ude00":2'), TOLERATE);

  // Tools: a giant schema, a schema of 10k properties, hostile names, a schema that is no schema.
  const props = (n: number, pad = 0) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, { type: 'string', description: 'd'.repeat(pad) }]));
  add('tool schema of 800 KB', spec.withTools(valid, [{ name: 'big', parameters: { type: 'object', properties: props(800, 1000) } }]), TOLERATE);
  add('tool schema with 10k properties', spec.withTools(valid, [{ name: 'wide', parameters: { type: 'object', properties: props(TEN_K) } }]), TOLERATE);
  // OpenAI, Anthropic and Gemini document their tool-name alphabets and lengths; Ollama does not.
  const nameRule = api === 'ollama' ? TOLERATE : REJECT;
  add('tool name of 10k characters', spec.withTools(valid, [{ name: 'n'.repeat(TEN_K), parameters: { type: 'object' } }]), nameRule);
  add('tool name with ../', spec.withTools(valid, [{ name: '../../etc/passwd', parameters: { type: 'object' } }]), nameRule);
  add('tool name empty', spec.withTools(valid, [{ name: '', parameters: { type: 'object' } }]), REJECT);
  add('tool parameters a string', spec.withTools(valid, [{ name: 'odd', parameters: 'not a schema' }]), REJECT);
  add('tool parameters an array', spec.withTools(valid, [{ name: 'odd', parameters: [1, 2] }]), REJECT);

  // Images: payloads that are not base64, not images, or not what the type says.
  const images: Array<[string, string, string]> = [
    ['not base64 at all', '!!!***not-base64***', 'image/png'],
    ['empty data', '', 'image/png'],
    ['base64 of text, labelled PNG', Buffer.from('this is not an image').toString('base64'), 'image/png'],
    ['a PNG labelled text/html', TINY_PNG, 'text/html'],
    ['base64 missing its padding', 'iVBORw0KGgoAAAANSUhE', 'image/png'],
    ['a data: URL where bare base64 goes', `data:image/png;base64,${TINY_PNG}`, 'image/png'],
    ['600 KB of base64 garbage', 'A'.repeat(600_000 - 1), 'image/png'],
    ['a file:// URL', 'file:///etc/passwd', 'image/png'],
  ];
  for (const [what, data, mime] of images) {
    // Ollama documents bare base64 and refuses the rest; the others leave the image to the model.
    const strict = api === 'ollama' && (what === 'not base64 at all' || what.startsWith('a data: URL') || what === 'a file:// URL');
    // Anthropic documents a non-empty `data`.
    const expect = strict || (api === 'anthropic' && what === 'empty data') ? REJECT : TOLERATE;
    for (const model of [BACKEND_MODEL[api], CROSS_MODEL[api]]) {
      add(`image ${what}${model === BACKEND_MODEL[api] ? '' : ` to ${model}`}`, spec.imageBody(model, data, mime), expect, model);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// model: names with path tricks

const MODEL_TRICKS: Array<[string, string, 'reject' | 'tolerate']> = [
  ['empty', '', 'reject'],
  ['a space', ' ', 'reject'],
  ['../../etc/passwd', '../../etc/passwd', 'reject'],
  ['..%2F..%2Fadmin', '..%2F..%2Fadmin', 'reject'],
  ['%2e%2e%2f%2e%2e%2f', '%2e%2e%2f%2e%2e%2f', 'reject'],
  ['a model then ../ another', 'gpt-4o-mini/../claude-haiku-4-5', 'reject'],
  ['a provider prefix with ../', 'openai/../anthropic/claude-haiku-4-5', 'reject'],
  ['backslashes', '..\\..\\windows\\win.ini', 'reject'],
  ['a NUL inside', 'gpt-4o-mini\u0000evil', 'reject'],
  ['a trailing NUL', 'gpt-4o-mini\u0000', 'reject'],
  ['CRLF and a header', 'gpt-4o-mini\r\nx-gateway-cluster: anthropic', 'reject'],
  ['10k characters', 'm'.repeat(10_000), 'reject'],
  ['500k characters', 'm'.repeat(500_000), 'reject'],
  ['a URL', 'http://169.254.169.254/latest/meta-data/', 'reject'],
  ['a query string', 'gpt-4o-mini?x=1', 'reject'],
  ['a fragment', 'gpt-4o-mini#frag', 'reject'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style lookup, sent as it is
  ['a template', '${jndi:ldap://x/a}', 'reject'],
  ['SQL', "x'; DROP TABLE models; --", 'reject'],
  ['HTML', '<script>alert(1)</script>', 'reject'],
  ['right-to-left override', '\u202eini-o4-tpg', 'reject'],
  ['emoji', '\ud83d\ude00', 'reject'],
  ['upper case', 'GPT-4O-MINI', 'tolerate'],
  ['trailing space', 'gpt-4o-mini ', 'tolerate'],
  ['leading tab', '\tgpt-4o-mini', 'tolerate'],
  ['Gemini-style models/ prefix', 'models/gemini-2.5-flash-lite', 'tolerate'],
  ['an Ollama tag with ../', 'llama3.2:latest/../../x', 'reject'],
];

function modelCases(api: Api): HostileCase[] {
  const out: HostileCase[] = [];
  for (const [what, model, rule] of MODEL_TRICKS) {
    const expect = rule === 'reject' ? REJECT : TOLERATE;
    const name = `model/${api}/${what}`;
    if (api === 'gemini') {
      // The model is a path segment: escaped as an SDK escapes it (the raw bytes cannot go on the wire).
      const body = validBody('gemini');
      out.push({ name, api, family: 'model', answer: 'chat', request: chat('gemini', body, { model: encodeURIComponent(model) }), expect });
    } else {
      const body = API_SPECS[api].withModel(validBody(api), model);
      out.push({ name, api, family: 'model', answer: 'chat', request: chat(api, body), expect });
    }
  }
  if (api === 'gemini') {
    // Spelled in the path as is: escapes the SDK would not write.
    const raw: Array<[string, string]> = [
      ['raw %2F in the model segment', '..%2F..%2Fgemini-2.5-flash-lite'],
      ['raw %00 in the model segment', 'gemini-2.5-flash-lite%00'],
      ['double-encoded %252F', 'a%252F..%252Fb'],
      ['malformed escape %zz', 'gemini%zz'],
      ['model segment of 10k characters', 'g'.repeat(10_000)],
    ];
    for (const [what, seg] of raw) {
      out.push({
        name: `model/gemini/${what}`,
        api,
        family: 'model',
        answer: 'chat',
        request: chat('gemini', validBody('gemini'), { model: seg }),
        expect: REJECT,
      });
    }
  }
  return out;
}

export function bodyCases(): HostileCase[] {
  return APIS.flatMap((api) => [...jsonCases(api), ...typeCases(api), ...numberCases(api), ...arrayCases(api), ...semanticCases(api), ...modelCases(api)]).map(
    (c) => ({
      ...c,
      name: slug(c.name, 160),
    }),
  );
}

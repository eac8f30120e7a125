/*
 * The edges of a request: query strings, paths and methods, headers (content type, keys,
 * encodings, internal headers, chunked bodies), oversize bodies and raw HTTP framing.
 */
import { gzipSync } from 'node:zlib';
import { API_SPECS, BACKEND_MODEL, ENVOY_EXTRA_BUFFER, KEY, MAX_REQUEST_BYTES, PROMPT } from '../apis.js';
import { chat, get, slug, validBody } from '../build.js';
import { APIS, type Api, type Expect, type HostileCase, type HostileRequest } from '../types.js';

const REJECT: Expect = { kind: 'reject' };
const TOLERATE: Expect = { kind: 'tolerate' };
const OK: Expect = { kind: 'ok' };
const reject = (...status: number[]): Expect => ({ kind: 'reject', status });

/** The chat path of the API for its own model, without query. */
function chatPath(api: Api, stream = false): string {
  return API_SPECS[api].chatPath(BACKEND_MODEL[api], stream);
}

/** Appends a query to a path that may have one already. */
function withQuery(path: string, q: string): string {
  return path.includes('?') ? `${path}&${q.replace(/^\?/, '')}` : `${path}${q.startsWith('?') ? q : `?${q}`}`;
}

// ---------------------------------------------------------------------------------------------
// query

function queryCases(api: Api): HostileCase[] {
  const out: HostileCase[] = [];
  const body = validBody(api);
  const add = (name: string, request: HostileRequest, expect: Expect, answer: 'chat' | 'models' = 'chat') =>
    out.push({ name: `query/${api}/${name}`, api, family: 'query', answer, request, expect });
  const q = (name: string, query: string, expect: Expect = TOLERATE) => add(name, chat(api, body, { path: withQuery(chatPath(api), query) }), expect);
  q('the key again in ?key=', `key=${KEY}`);
  q('a wrong ?key= beside a good header key', 'key=wrong-key-000000000000');
  q('an empty ?key=', 'key=');
  q('?model= naming another model', 'model=no-such-model-x');
  q('?stream=true', 'stream=true');
  q('malformed escapes', '%zz=%zz&%=%');
  q('escaped NUL and CRLF header injection', 'a=%00&b=%0d%0ax-gateway-cluster:%20anthropic');
  q('prototype keys', '__proto__[polluted]=1&constructor[prototype][x]=1');
  q('only separators', '???&&==;;');
  q('a query of 8 KB', `pad=${'q'.repeat(8 * 1024)}`);
  q('a query of 100 KB', `pad=${'q'.repeat(100 * 1024)}`, REJECT);
  add(
    'model list with a hostile query',
    get(api, withQuery(API_SPECS[api].modelsPath, 'limit=-1&after_id=..%2F..%2F&before_id=%00&pageSize=1e309')),
    TOLERATE,
    'models',
  );
  if (api === 'gemini') {
    const stream = (query: string) => `/v1beta/models/${BACKEND_MODEL.gemini}:streamGenerateContent${query}`;
    add('streamGenerateContent without alt=sse', chat(api, body, { path: stream('') }), reject(400));
    add('streamGenerateContent with alt=json', chat(api, body, { path: stream('?alt=json') }), reject(400));
    add('alt=sse given twice', chat(api, body, { path: stream('?alt=sse&alt=sse') }), TOLERATE);
    add('alt=sse then alt=json', chat(api, body, { path: stream('?alt=sse&alt=json') }), TOLERATE);
    add('the key only in ?key=', { ...chat(api, body, { headers: [['content-type', 'application/json']] }), path: withQuery(chatPath(api), `key=${KEY}`) }, OK);
    add(
      'a good ?key= and a wrong one',
      { ...chat(api, body, { headers: [['content-type', 'application/json']] }), path: withQuery(chatPath(api), `key=${KEY}&key=wrong`) },
      TOLERATE,
    );
  }
  if (api === 'anthropic') q('?beta=true as the SDK sends it', 'beta=true', OK);
  return out;
}

// ---------------------------------------------------------------------------------------------
// paths: unknown paths of each family, trailing slash, //, upper case, %2F, wrong methods

const UNKNOWN_PATHS: Record<Api, Array<[string, string]>> = {
  openai: [
    ['/v1/chat/completion', 'singular'],
    ['/v1/chat/completions/', 'trailing slash'],
    ['/v1/chat//completions', 'double slash inside'],
    ['//v1/chat/completions', 'double slash first'],
    ['/V1/CHAT/COMPLETIONS', 'upper case'],
    ['/v1/chat%2Fcompletions', '%2F for the last slash'],
    ['/v1%2Fchat%2Fcompletions', '%2F for every slash'],
    ['/v1/chat/completions/../completions', 'a dot-dot segment'],
    ['/v1/./chat/completions', 'a dot segment'],
    ['/v1/chat/completions;x=1', 'a matrix parameter'],
    ['/v1/chat/completions%00', 'an escaped NUL'],
    ['/v1/completions', 'the legacy completions endpoint'],
    ['/v1/embeddings', 'embeddings'],
    ['/v1/responses', 'the Responses API'],
    ['/v1/chat/completions/chatcmpl-123', 'a stored completion'],
    ['/v1', 'the version root'],
  ],
  anthropic: [
    ['/v1/messages/', 'trailing slash'],
    ['/v1/message', 'singular'],
    ['/v1//messages', 'double slash'],
    ['/V1/MESSAGES', 'upper case'],
    ['/v1%2Fmessages', '%2F for the slash'],
    ['/v1/messages%2F', 'a trailing %2F'],
    ['/v1/messages/count_tokens', 'count_tokens'],
    ['/v1/messages/batches', 'message batches'],
    ['/v1/messages/../messages', 'a dot-dot segment'],
    ['/v1/complete', 'the legacy Text Completions API'],
    ['/v1/messages%00', 'an escaped NUL'],
  ],
  gemini: [
    ['/v1beta/models/gemini-2.5-flash-lite:generateContent/', 'trailing slash'],
    ['/v1beta/models/gemini-2.5-flash-lite:generatecontent', 'lower-case method'],
    ['/v1beta/models/gemini-2.5-flash-lite:countTokens', 'countTokens'],
    ['/v1beta/models/gemini-2.5-flash-lite:embedContent', 'embedContent'],
    ['/v1beta/models/gemini-2.5-flash-lite:fooBar', 'an unknown method'],
    ['/v1beta/models/gemini-2.5-flash-lite', 'POST to a model'],
    ['/v1beta//models/gemini-2.5-flash-lite:generateContent', 'double slash'],
    ['/V1BETA/models/gemini-2.5-flash-lite:generateContent', 'upper-case version'],
    ['/v1beta/models/gemini-2.5-flash-lite%3AgenerateContent', '%3A for the colon'],
    ['/v1beta%2Fmodels%2Fgemini-2.5-flash-lite:generateContent', '%2F for the slashes'],
    ['/v1beta/tunedModels/gemini-2.5-flash-lite:generateContent', 'tunedModels'],
    ['/v2/models/gemini-2.5-flash-lite:generateContent', 'an unknown version'],
    ['/v1beta/models/gemini-2.5-flash-lite:generateContent:generateContent', 'the method twice'],
    ['/v1beta/models/:generateContent', 'no model'],
    ['/v1beta/models/../models/gemini-2.5-flash-lite:generateContent', 'a dot-dot segment'],
    ['/v1beta/cachedContents', 'cachedContents'],
  ],
  ollama: [
    ['/api/generate', 'generate'],
    ['/api/chat/', 'trailing slash'],
    ['/api//chat', 'double slash'],
    ['/API/CHAT', 'upper case'],
    ['/api%2Fchat', '%2F for the slash'],
    ['/api/embed', 'embed'],
    ['/api/embeddings', 'embeddings'],
    ['/api/show', 'show'],
    ['/api/pull', 'pull'],
    ['/api/create', 'create'],
    ['/api/copy', 'copy'],
    ['/api/blobs/sha256:abc', 'blobs'],
    ['/api/chat/../generate', 'a dot-dot segment'],
    ['/api/chat%00', 'an escaped NUL'],
  ],
};

function pathCases(api: Api): HostileCase[] {
  const out: HostileCase[] = [];
  const body = validBody(api);
  for (const [path, what] of UNKNOWN_PATHS[api]) {
    out.push({
      name: `paths/${api}/POST ${what} (${path})`,
      api,
      family: 'paths',
      answer: 'chat',
      request: chat(api, body, { path }),
      expect: reject(400, 404, 405),
    });
  }
  const p = chatPath(api);
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    const request: HostileRequest = method === 'GET' ? get(api, p) : chat(api, body, { method });
    out.push({ name: `paths/${api}/${method} on the chat endpoint`, api, family: 'paths', answer: 'chat', request, expect: reject(400, 404, 405) });
  }
  const models = API_SPECS[api].modelsPath;
  out.push({
    name: `paths/${api}/POST to the model list`,
    api,
    family: 'paths',
    answer: 'models',
    request: chat(api, body, { path: models }),
    expect: reject(400, 404, 405),
  });
  out.push({
    name: `paths/${api}/model list with a trailing slash`,
    api,
    family: 'paths',
    answer: 'models',
    request: get(api, `${models}/`),
    expect: TOLERATE,
  });
  out.push({
    name: `paths/${api}/model list in upper case`,
    api,
    family: 'paths',
    answer: 'models',
    request: get(api, models.toUpperCase()),
    expect: reject(400, 404, 405),
  });
  if (api === 'openai') {
    out.push({
      name: 'paths/openai/GET a model with %2F..%2F',
      api,
      family: 'paths',
      answer: 'models',
      request: get(api, '/v1/models/..%2F..%2Fetc%2Fpasswd'),
      expect: reject(404),
    });
    out.push({
      name: 'paths/openai/GET a model with %00',
      api,
      family: 'paths',
      answer: 'models',
      request: get(api, '/v1/models/gpt-4o-mini%00'),
      expect: reject(400, 404),
    });
    out.push({
      name: 'paths/openai/GET a model with a malformed escape',
      api,
      family: 'paths',
      answer: 'models',
      request: get(api, '/v1/models/%zz'),
      expect: reject(400, 404),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// headers: content type, keys, encodings, internal headers, chunked bodies

function headerCases(api: Api): HostileCase[] {
  const out: HostileCase[] = [];
  const spec = API_SPECS[api];
  const body = validBody(api);
  const text = JSON.stringify(body);
  const keyHeaders = spec.headers().filter(([k]) => k !== 'content-type');
  const keyName = keyHeaders[0]![0];
  const others = keyHeaders.slice(1);
  const add = (name: string, request: HostileRequest, expect: Expect) =>
    out.push({ name: `headers/${api}/${name}`, api, family: 'headers', answer: 'chat', request, expect });
  const withHeaders = (headers: Array<[string, string]>, b: string | Buffer = text) => chat(api, b, { headers });
  const ct = (value: string) => withHeaders([...keyHeaders, ['content-type', value]]);

  add('no content-type', withHeaders(keyHeaders), TOLERATE);
  add('content-type text/plain', ct('text/plain'), TOLERATE);
  add('content-type form-urlencoded', ct('application/x-www-form-urlencoded'), TOLERATE);
  add('content-type multipart with a JSON body', ct('multipart/form-data; boundary=xyz'), TOLERATE);
  add('content-type JSON in UTF-16 (body in UTF-8)', ct('application/json; charset=utf-16'), TOLERATE);
  add('content-type garbage', ct(';;;=,,'), TOLERATE);
  add('two content-types', withHeaders([...keyHeaders, ['content-type', 'application/json'], ['content-type', 'text/html']]), TOLERATE);
  add('an XML body labelled XML', withHeaders([...keyHeaders, ['content-type', 'application/xml']], '<?xml version="1.0"?><r><model>x</model></r>'), REJECT);

  const keyValue = (k: string) => (keyName === 'authorization' ? `Bearer ${k}` : k);
  const json: [string, string] = ['content-type', 'application/json'];
  add('no key', withHeaders([...others, json]), reject(401));
  add('a wrong key', withHeaders([[keyName, keyValue('gw-wrong-key-000000000000')], ...others, json]), reject(401));
  add('an empty key', withHeaders([[keyName, keyName === 'authorization' ? 'Bearer ' : ''], ...others, json]), reject(401));
  add('a key of 16 KB', withHeaders([[keyName, keyValue('k'.repeat(16 * 1024))], ...others, json]), reject(401));
  add('the key twice, then a wrong one', withHeaders([...keyHeaders, [keyName, keyValue('gw-wrong-key-000000000000')], json]), TOLERATE);
  add('the key padded with spaces', withHeaders([[keyName, `  ${keyValue(KEY)}  `], ...others, json]), TOLERATE);
  add('the key in another API’s header', withHeaders([[keyName === 'x-api-key' ? 'x-goog-api-key' : 'x-api-key', KEY], ...others, json]), TOLERATE);
  if (keyName === 'authorization') add('lower-case bearer', withHeaders([['authorization', `bearer ${KEY}`], ...others, json]), TOLERATE);
  add(
    'a basic-auth header',
    withHeaders([['authorization', `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}`], ...others.filter(([k]) => k !== 'authorization'), json]),
    TOLERATE,
  );

  const forged: Array<[string, Array<[string, string]>]> = [
    ['a forged x-gateway-cluster', [['x-gateway-cluster', 'anthropic']]],
    [
      'a forged tenant and provider',
      [
        ['x-gateway-tenant', 'admin'],
        ['x-gateway-provider', 'openai'],
      ],
    ],
    [
      'forged Envoy headers',
      [
        ['x-envoy-original-path', '/admin'],
        ['x-forwarded-for', '10.0.0.1'],
        ['x-envoy-internal', 'true'],
      ],
    ],
    ['a forged request id', [['x-request-id', '../../etc/passwd']]],
    ['x-gateway-local-only garbage', [['x-gateway-local-only', '\u00ff\u00fe']]],
    ['cache-control garbage', [['cache-control', 'no-store=1, max-age=-1, ,,']]],
  ];
  for (const [what, hs] of forged) add(what, withHeaders([...keyHeaders, json, ...hs]), TOLERATE);

  add('content-encoding gzip on a plain body', withHeaders([...keyHeaders, json, ['content-encoding', 'gzip']]), TOLERATE);
  add('content-encoding gzip on a gzip body', withHeaders([...keyHeaders, json, ['content-encoding', 'gzip']], gzipSync(text)), TOLERATE);
  add('a gzip body without content-encoding', withHeaders([...keyHeaders, json], gzipSync(text)), REJECT);
  add('content-encoding br on garbage', withHeaders([...keyHeaders, json, ['content-encoding', 'br']], Buffer.from([1, 2, 3, 4, 5])), TOLERATE);
  add('expect: 100-continue', withHeaders([...keyHeaders, json, ['expect', '100-continue']]), OK);
  add('accept: text/html', withHeaders([...keyHeaders, json, ['accept', 'text/html']]), TOLERATE);
  add('a junk header of 16 KB', withHeaders([...keyHeaders, json, ['x-junk', 'j'.repeat(16 * 1024)]]), TOLERATE);
  add('100 junk headers', withHeaders([...keyHeaders, json, ...Array.from({ length: 100 }, (_, i): [string, string] => [`x-junk-${i}`, `v${i}`])]), TOLERATE);

  // Chunked bodies are ordinary requests: the answer must be the same as with a content-length.
  add('chunked body in one chunk', chat(api, body, { framing: { kind: 'chunked' } }), OK);
  add('chunked body in 1-byte chunks', chat(api, body, { framing: { kind: 'chunked', chunkBytes: 1 } }), OK);
  add(
    'chunked stream request in 7-byte chunks',
    chat(api, spec.body(BACKEND_MODEL[api], true), { stream: true, framing: { kind: 'chunked', chunkBytes: 7 } }),
    OK,
  );

  if (api === 'anthropic') {
    const noVersion = keyHeaders.filter(([k]) => k !== 'anthropic-version');
    add('no anthropic-version', withHeaders([...noVersion, json]), TOLERATE);
    add('anthropic-version garbage', withHeaders([...noVersion, ['anthropic-version', '../../1999'], json]), TOLERATE);
    add('anthropic-beta garbage', withHeaders([...keyHeaders, ['anthropic-beta', '\u00ff,,,;;'], json]), TOLERATE);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// size: bodies over MAX_REQUEST_BYTES (and over Envoy's buffer, MAX + 1 MiB)

/** A valid body of exactly `bytes` bytes (the prompt padded). */
function bodyOfSize(api: Api, bytes: number, model = BACKEND_MODEL[api]): string {
  const marker = 'PAD_MARKER';
  const text = JSON.stringify(API_SPECS[api].body(model, false, `${PROMPT} ${marker}`));
  return text.replace(marker, 'p'.repeat(Math.max(0, bytes - text.length + marker.length)));
}

function sizeCases(api: Api): HostileCase[] {
  const out: HostileCase[] = [];
  const add = (name: string, request: HostileRequest, expect: Expect) =>
    out.push({ name: `size/${api}/${name}`, api, family: 'size', answer: 'chat', request, expect, timeoutMs: 15_000 });
  const MiB = 1024 * 1024;
  add('exactly the maximum', chat(api, bodyOfSize(api, MAX_REQUEST_BYTES)), TOLERATE);
  add('one byte over the maximum', chat(api, bodyOfSize(api, MAX_REQUEST_BYTES + 1)), reject(413));
  add('half a MiB over the maximum', chat(api, bodyOfSize(api, MAX_REQUEST_BYTES + MiB / 2)), reject(413));
  add("over Envoy's buffer too", chat(api, bodyOfSize(api, MAX_REQUEST_BYTES + ENVOY_EXTRA_BUFFER + MiB)), reject(413));
  add('one byte over, chunked', chat(api, bodyOfSize(api, MAX_REQUEST_BYTES + 1), { framing: { kind: 'chunked', chunkBytes: 64 * 1024 } }), reject(413));
  add(
    "over Envoy's buffer, chunked",
    chat(api, bodyOfSize(api, MAX_REQUEST_BYTES + ENVOY_EXTRA_BUFFER + MiB), { framing: { kind: 'chunked', chunkBytes: 64 * 1024 } }),
    reject(413),
  );
  add('one byte over, not JSON', chat(api, 'x'.repeat(MAX_REQUEST_BYTES + 1)), reject(413));
  if (api === 'anthropic') {
    // The first call of a fallback chain (claude-sonnet-4-5 → OpenRouter) that nothing has used
    // yet, carrying a body of about 1 MiB (within the limit). It made Envoy 1.40 segfault while
    // the ext_proc cluster kept its default 1 MiB connection buffer. Isolated: it may bring Envoy down.
    const model = 'claude-sonnet-4-5';
    out.push({
      name: `size/${api}/the maximum as the first call of a fallback chain (${model})`,
      api,
      family: 'size',
      answer: 'chat',
      request: chat(api, bodyOfSize(api, MAX_REQUEST_BYTES, model), { model }),
      expect: TOLERATE,
      timeoutMs: 15_000,
      isolated: true,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// transport: raw HTTP, framing that lies

function raw(lines: string[], body: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1')]);
}

function transportCases(api: Api): HostileCase[] {
  const out: HostileCase[] = [];
  const spec = API_SPECS[api];
  const body = JSON.stringify(validBody(api));
  const path = chatPath(api);
  const head = (p = path, method = 'POST', version = 'HTTP/1.1') => [
    `${method} ${p} ${version}`,
    'host: {{host}}',
    'connection: close',
    ...spec.headers().map(([k, v]) => `${k}: ${v}`),
  ];
  // A lie about the body should be answered promptly: a short timeout, and the time is reported.
  const add = (name: string, bytes: Buffer, expect: Expect, timeoutMs = 6000) =>
    out.push({
      name: `transport/${api}/${name}`,
      api,
      family: 'transport',
      answer: 'chat',
      request: { method: 'POST', path, headers: [], raw: bytes },
      expect,
      timeoutMs,
    });

  add('content-length 100 bytes larger than the body', raw([...head(), `content-length: ${body.length + 100}`], body), REJECT);
  add('content-length 1e9 with a small body', raw([...head(), 'content-length: 1000000000'], body), reject(413));
  add('content-length one over the maximum with a small body', raw([...head(), `content-length: ${MAX_REQUEST_BYTES + 1}`], body), reject(413));
  add('content-length shorter than the body', raw([...head(), `content-length: ${body.length - 10}`], body), REJECT);
  add('content-length not a number', raw([...head(), 'content-length: abc'], body), REJECT);
  add('content-length negative', raw([...head(), 'content-length: -5'], body), REJECT);
  add('two different content-lengths', raw([...head(), `content-length: ${body.length}`, `content-length: ${body.length + 1}`], body), REJECT);
  add(
    'content-length and chunked together',
    raw([...head(), `content-length: ${body.length}`, 'transfer-encoding: chunked'], `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`),
    REJECT,
  );
  add('a chunk size that is not hex', raw([...head(), 'transfer-encoding: chunked'], `zz\r\n${body}\r\n0\r\n\r\n`), REJECT);
  add('a chunked body that never ends', raw([...head(), 'transfer-encoding: chunked'], `${body.length.toString(16)}\r\n${body}\r\n`), REJECT);
  add('chunk extensions', raw([...head(), 'transfer-encoding: chunked'], `${body.length.toString(16)};ext="1"\r\n${body}\r\n0\r\n\r\n`), TOLERATE);
  add('a NUL byte in the path', raw([...head(`${path}\u0000x`), `content-length: ${body.length}`], body), REJECT);
  add('a space in the path', raw([...head(`${path} x`), `content-length: ${body.length}`], body), REJECT);
  add(
    'HTTP/1.0 without host',
    raw([`POST ${path} HTTP/1.0`, ...spec.headers().map(([k, v]) => `${k}: ${v}`), `content-length: ${body.length}`], body),
    TOLERATE,
  );
  add('an absolute-form target', raw([...head(`http://gateway.example${path}`), `content-length: ${body.length}`], body), TOLERATE);
  add('a header of 100 KB', raw([...head(), `x-big: ${'b'.repeat(100 * 1024)}`, `content-length: ${body.length}`], body), REJECT);
  // RFC 9112 lets a server either refuse these or replace the offending bytes with spaces.
  add('a folded header line', raw([...head(), 'x-fold: a', ' continued', `content-length: ${body.length}`], body), TOLERATE);
  add('a lower-case method', raw([...head(path, 'post'), `content-length: ${body.length}`], body), REJECT);
  add('a bare CR inside a header value', raw([...head(), 'x-cr: a\rb', `content-length: ${body.length}`], body), TOLERATE);
  return out;
}

export function edgeCases(): HostileCase[] {
  return APIS.flatMap((api) => [...queryCases(api), ...pathCases(api), ...headerCases(api), ...sizeCases(api), ...transportCases(api)]).map((c) => ({
    ...c,
    name: slug(c.name, 160),
  }));
}

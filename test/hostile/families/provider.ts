/*
 * Provider-side garbage: every caller API × every backend API × stream and not, with the
 * backend's simulator told to fail (`x-sim-fail`, simulators/common/failures.ts) or to spoil its
 * answer on the wire (`x-sim-wire`, simulators/common/wire.ts). The caller must get an error in
 * its own API — 5xx only as 502/503/504 — or, once its stream has started, an error event; a
 * fault that leaves the answer readable (slow, mislabelled) must still give a complete answer.
 */
import { API_SPECS, BACKEND_MODEL, CHAIN_MODEL, type JsonObject } from '../apis.js';
import { chat } from '../build.js';
import { APIS, type Api, type Expect, type HostileCase } from '../types.js';

const UPSTREAM_5XX = [502, 503, 504];
const upstream = (): Expect => ({ kind: 'upstream', status: UPSTREAM_5XX });

interface Fault {
  name: string;
  headers: Array<[string, string]>;
  expect: (stream: boolean) => Expect;
  timeoutMs?: number;
  /** A 429, 5xx or reset: a fallback chain moves on, and may set the member aside for a while. */
  movesChain?: boolean;
}

/*
 * Faults that leave the backend healthy come first: those that make a fallback chain move on or
 * set a member aside (429, 5xx, resets) would change which member answers the ones after them,
 * and the cases on a chain are sent in this order, one at a time.
 */
const FAULTS: Fault[] = [
  // The provider's own answer to the request is a 4xx: the caller's.
  { name: 'status 400', headers: [['x-sim-fail', '400']], expect: () => ({ kind: 'reject', status: [400] }) },
  {
    name: 'status 400 with an HTML page',
    headers: [
      ['x-sim-fail', '400'],
      ['x-sim-wire', 'html'],
    ],
    expect: () => ({ kind: 'reject', status: [400] }),
  },
  // Broken bodies behind a 200.
  { name: 'body truncated, connection closed cleanly', headers: [['x-sim-wire', 'truncate']], expect: () => upstream() },
  // A stream may skip the one corrupt event it got (the answer is otherwise whole) or end in an error.
  {
    name: 'body is garbage (a corrupt event in a stream)',
    headers: [['x-sim-wire', 'garbage']],
    expect: (stream) => (stream ? { kind: 'ok-or-upstream', status: UPSTREAM_5XX } : upstream()),
  },
  { name: '200 with an HTML page (wrong content type)', headers: [['x-sim-wire', 'html']], expect: () => upstream() },
  { name: '200 with an empty body', headers: [['x-sim-wire', 'empty']], expect: () => upstream() },
  // Readable if odd: the answer must come through whole.
  { name: 'the right body labelled text/plain', headers: [['x-sim-wire', 'mislabel']], expect: () => ({ kind: 'ok-or-upstream', status: UPSTREAM_5XX }) },
  { name: 'slowloris: the answer dripped 7 bytes at a time', headers: [['x-sim-wire', 'slowloris']], expect: () => ({ kind: 'ok' }), timeoutMs: 15_000 },
  // A provider refusing the gateway's credential is the gateway's trouble (502).
  // The gateway turns it into a 502, which a fallback chain may move on from.
  { movesChain: true, name: 'status 401 (our credential refused)', headers: [['x-sim-fail', '401']], expect: () => upstream() },
  { movesChain: true, name: 'status 500', headers: [['x-sim-fail', '500']], expect: () => upstream() },
  { movesChain: true, name: 'status 502', headers: [['x-sim-fail', '502']], expect: () => upstream() },
  { movesChain: true, name: 'status 504', headers: [['x-sim-fail', '504']], expect: () => upstream() },
  { movesChain: true, name: 'status 529 (overloaded)', headers: [['x-sim-fail', '529']], expect: () => upstream() },
  // Broken connections.
  { movesChain: true, name: 'connection reset before the answer', headers: [['x-sim-fail', 'reset']], expect: () => upstream() },
  {
    movesChain: true,
    name: 'connection reset mid-body',
    headers: [['x-sim-wire', 'cut']],
    expect: () => ({ kind: 'upstream', status: UPSTREAM_5XX, cutOff: true }),
  },
  // Last: Ollama's plain 503 marks the server busy for a while, and a 429 sets a member aside for its retry-after.
  {
    movesChain: true,
    name: 'status 503 with an HTML page',
    headers: [
      ['x-sim-fail', '503'],
      ['x-sim-wire', 'html'],
    ],
    expect: () => upstream(),
  },
  { movesChain: true, name: 'status 503', headers: [['x-sim-fail', '503']], expect: () => upstream() },
  { movesChain: true, name: 'status 429', headers: [['x-sim-fail', '429']], expect: () => ({ kind: 'reject', status: [429] }) },
];

/** The caller's request for `model`, streamed or not. */
function request(caller: Api, model: string, stream: boolean): JsonObject {
  return API_SPECS[caller].body(model, stream);
}

function faultCase(caller: Api, backend: Api, stream: boolean, f: Fault): HostileCase {
  const model = BACKEND_MODEL[backend];
  return {
    name: `provider/${caller}/from ${backend}/${stream ? 'stream' : 'whole'}/${f.name}`,
    api: caller,
    family: 'provider',
    answer: 'chat',
    request: chat(caller, request(caller, model, stream), { model, stream, extraHeaders: f.headers }),
    expect: f.expect(stream),
    ...(f.timeoutMs ? { timeoutMs: f.timeoutMs } : {}),
  };
}

/**
 * llama3.2 is a fallback chain: Ollama, then DeepSeek. The fault goes to the Ollama member only
 * (`x-sim-only`): a fault a chain moves on from must end in DeepSeek's good answer (or, where
 * moving on is optional, in the caller's error); any other comes back from Ollama as it would alone.
 */
function chainCase(caller: Api, stream: boolean, f: Fault): HostileCase {
  const c = faultCase(caller, 'ollama', stream, { ...f, headers: [...f.headers, ['x-sim-only', 'ollama']] });
  if (!f.movesChain) return c;
  // After a reset past the head, or a refused credential (a 502 of the gateway's own), the chain
  // may move on or not; after a 429, a 5xx or a reset before the head it must.
  const cut = f.headers.some(([, v]) => v === 'cut');
  const mayStop = cut || f.headers.some(([, v]) => v === '401');
  return {
    ...c,
    name: `${c.name}, the chain moves on`,
    expect: mayStop ? { kind: 'ok-or-upstream', status: UPSTREAM_5XX, cutOff: cut } : { kind: 'ok' },
    // Outcomes depend on the chain's state (cooldowns, Envoy's outlier detection): one at a time, in order.
    sequential: true,
  };
}

export function providerCases(): HostileCase[] {
  const out: HostileCase[] = [];
  for (const caller of APIS) {
    for (const backend of APIS.filter((b) => b !== 'ollama')) {
      for (const stream of [false, true]) for (const f of FAULTS) out.push(faultCase(caller, backend, stream, f));
    }
  }
  for (const f of FAULTS) for (const caller of APIS) for (const stream of [false, true]) out.push(chainCase(caller, stream, f));
  for (const caller of APIS) {
    // A provider that never answers: on a fallback chain every attempt times out (the stack's
    // attempt idle timeout is short), and the caller gets a 504 in its API, not a hang.
    for (const stream of [false, true]) {
      out.push({
        name: `provider/${caller}/chain/${stream ? 'stream' : 'whole'}/every member hangs`,
        api: caller,
        family: 'provider',
        answer: 'chat',
        request: chat(caller, request(caller, CHAIN_MODEL, stream), { model: CHAIN_MODEL, stream, extraHeaders: [['x-sim-fail', 'hang']] }),
        expect: upstream(),
        timeoutMs: 15_000,
      });
    }
  }
  return out;
}

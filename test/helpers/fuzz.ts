/*
 * Shared pieces of the property-based (fast-check) tests, `*.fuzz.test.ts` beside the code.
 * Every run uses one fixed seed so CI sees the same cases each time. To explore further, run
 * them with another FUZZ_SEED and a FUZZ_SCALE multiplying every test's number of runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect } from 'vitest';
import { GatewayError } from '../../ext-proc/src/errors.js';

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2024);
const FUZZ_SCALE = Number(process.env.FUZZ_SCALE ?? 1);

/** fast-check parameters: the fixed seed, and as many runs as fit the test's time budget. */
export function runs<T>(numRuns: number): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: Math.ceil(numRuns * FUZZ_SCALE) };
}

/** Single UTF-16 units JSON text can carry but well-formed Unicode cannot: lone surrogates. */
const LONE_SURROGATES = ['\uD800', '\uDBFF', '\uDC00', '\uDFFF'];

/** One "character": any code point, a control character, or half of a surrogate pair. */
const wildUnit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(...LONE_SURROGATES, '\u0000', '\n', '"', '\\', '\u2028') },
);

export const wildString = fc.string({ unit: wildUnit, maxLength: 24 });

/** Numbers a JSON.parse result can hold (1e400 parses as Infinity) and a few it cannot (NaN). */
export const wildNumber = fc.oneof(
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1, -1, 0.5, 1e308, -1e308, 2 ** 53 + 2, -(2 ** 63), 5e-324),
  fc.integer(),
  fc.double(),
);

export const wildScalar = fc.oneof(wildString, wildNumber, fc.boolean(), fc.constant(null));

/** Any JSON value, its strings with lone surrogates and control characters among the rest. */
export const wildJson = fc.jsonValue({ maxDepth: 5, stringUnit: wildUnit });

const wildValue = fc.oneof(
  { weight: 4, arbitrary: wildScalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: wildUnit }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([], {}, [null], { type: null }) },
);

/** Keys that mean something to the parsers, to JavaScript objects, or to nothing at all. */
const wildKey = fc.oneof(
  wildString,
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'role', 'type', 'content', 'text', 'model', 'parts', 'tools', 'index'),
);

interface Edit {
  at: number;
  kind: 'replace' | 'delete' | 'add' | 'wrap';
  value: unknown;
  key: string;
}

const edit: fc.Arbitrary<Edit> = fc.record({ at: fc.nat(), kind: fc.constantFrom('replace', 'delete', 'add', 'wrap'), value: wildValue, key: wildKey });

/** `o[k] = v` the way JSON.parse does it: an own property, even for "__proto__". */
function setOwn(o: Record<string, unknown> | unknown[], k: string | number, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Every (container, key) slot of a JSON value, parents before children (iterative). */
function slots(root: unknown): Array<[Record<string, unknown> | unknown[], string | number]> {
  const out: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node !== 'object' || node === null) continue;
    const container = node as Record<string, unknown> | unknown[];
    const keys: Array<string | number> = Array.isArray(container) ? container.map((_, i) => i) : Object.keys(container);
    for (const k of keys) {
      out.push([container, k]);
      pending.push((container as Record<string, unknown>)[k]);
    }
  }
  return out;
}

function applyEdit(root: { body: unknown }, edit: Edit): void {
  // Generated values may be shared between runs (constantFrom): never link one into a body.
  const e = { ...edit, value: structuredClone(edit.value) };
  const all: Array<[Record<string, unknown> | unknown[], string | number]> = [[root as unknown as Record<string, unknown>, 'body'], ...slots(root.body)];
  const [parent, key] = all[e.at % all.length]!;
  const current = (parent as Record<string, unknown>)[key];
  switch (e.kind) {
    case 'replace':
      setOwn(parent, key, e.value);
      return;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      return;
    case 'add':
      if (Array.isArray(current)) current.push(e.value);
      else if (typeof current === 'object' && current !== null) setOwn(current as Record<string, unknown>, e.key, e.value);
      else setOwn(parent, key, e.value);
      return;
    case 'wrap':
      setOwn(parent, key, e.at % 2 === 0 ? [current] : { [e.key]: current });
      return;
  }
}

/** A valid request (one of `seeds`) with one to four random edits: wrong types, odd values, missing or extra fields. */
export function mutated(seeds: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.record({ seed: fc.constantFrom(...seeds), edits: fc.array(edit, { minLength: 1, maxLength: 4 }) }).map(({ seed, edits }) => {
    const root = { body: structuredClone(seed) };
    for (const e of edits) applyEdit(root, e);
    return root.body;
  });
}

/** The JSON fixtures of a provider folder whose names start with `prefix`. */
export function jsonFixtures(dir: URL, prefix: string): unknown[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as unknown);
}

/** Runs `f`; anything it throws must be a GatewayError with a status in [min, max]. */
export function onlyGatewayErrors<T>(f: () => T, min = 400, max = 499): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof GatewayError)) throw e;
    expect(e.status, e.message).toBeGreaterThanOrEqual(min);
    expect(e.status, e.message).toBeLessThanOrEqual(max);
    return undefined;
  }
}

/** Cuts `bytes` at the given offsets (taken modulo its length, so any numbers do). */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  if (bytes.length === 0) return [bytes];
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** Offsets at which to cut a byte stream: none, a few, or many. */
export const cuts = fc.array(fc.nat(), { maxLength: 40 });

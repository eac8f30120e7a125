import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './json-depth.js';

/** `levels` containers, alternating objects and arrays, parsed from text as a body would be. */
function nested(levels: number): unknown {
  let text = '1';
  for (let i = 0; i < levels; i++) text = i % 2 === 0 ? `[${text}]` : `{"k":${text}}`;
  return JSON.parse(text);
}

describe('nestedDeeperThan', () => {
  it('counts the body itself as level 1 and scalars as no level', () => {
    expect(nestedDeeperThan(1, 0)).toBe(false);
    expect(nestedDeeperThan('{"a":1}', 0)).toBe(false);
    expect(nestedDeeperThan(null, 0)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(true);
    expect(nestedDeeperThan({}, 1)).toBe(false);
    expect(nestedDeeperThan([[]], 1)).toBe(true);
    expect(nestedDeeperThan([[]], 2)).toBe(false);
  });

  it('accepts exactly the limit and refuses one level more, objects and arrays alike', () => {
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true);
  });

  it('finds the one deep branch among many shallow ones, wherever it is', () => {
    const wide = { a: [1, 2, { b: 'x' }], c: { d: null }, e: nested(MAX_JSON_DEPTH + 1), f: [] };
    expect(nestedDeeperThan(wide)).toBe(true);
    expect(nestedDeeperThan([nested(3), nested(MAX_JSON_DEPTH)])).toBe(true);
    expect(nestedDeeperThan([nested(3), nested(MAX_JSON_DEPTH - 1)])).toBe(false);
  });

  it('walks keys JSON allows but objects treat specially', () => {
    const v = JSON.parse(`{"__proto__":${JSON.stringify(nested(5))},"constructor":{"prototype":[]}}`) as unknown;
    expect(nestedDeeperThan(v, 5)).toBe(true);
    expect(nestedDeeperThan(v, 6)).toBe(false);
  });

  it('takes 100k levels without overflowing (it is iterative)', () => {
    const text = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const v = JSON.parse(text) as unknown;
    expect(() => JSON.stringify(v)).toThrow(RangeError);
    expect(nestedDeeperThan(v)).toBe(true);
    expect(nestedDeeperThan(v, 200_000)).toBe(false);
  });
});

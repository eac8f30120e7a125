import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { didYouMean, YamlSource, YamlSourceError } from './yaml-source.js';
import type { IssueWording, LocatedIssue } from './yaml-source.js';

class TestError extends YamlSourceError {
  constructor(source: string, issues: readonly LocatedIssue[]) {
    super('TestError', source, issues);
  }
}

const Schema = z.strictObject({
  items: z.record(
    z.string().regex(/^[a-z]+$/, 'lowercase only'),
    z.strictObject({
      size: z.int().positive(),
      tags: z.array(z.string()).min(1, 'list at least one tag').optional(),
      color: z.enum(['red', 'green']).optional(),
    }),
  ),
});

const WORDING: IssueWording = {
  entryLabel: (path) => (path[0] === 'items' && path[1] !== undefined ? `item ${String(path[1])}` : String(path[0] ?? '(root)')),
  fieldPath: (path) => (path[0] === 'items' ? path.slice(2) : path.slice(1)),
};

function messages(text: string, wording: IssueWording = WORDING): string[] {
  try {
    YamlSource.parse(text, 'f.yaml', wording, TestError).validate(Schema);
  } catch (err) {
    expect(err).toBeInstanceOf(TestError);
    expect(err).toBeInstanceOf(YamlSourceError);
    expect((err as TestError).name).toBe('TestError');
    return (err as TestError).issues.map((i) => i.message);
  }
  throw new Error('expected a TestError');
}

describe('YamlSource', () => {
  it('returns the validated data', () => {
    const src = YamlSource.parse('items:\n  a: { size: 2 }\n', 'f.yaml', WORDING, TestError);
    expect(src.validate(Schema)).toEqual({ items: { a: { size: 2 } } });
    expect(src.where(['items', 'a', 'size'])).toBe('f.yaml:2:14');
  });

  it('locates problems at the node, a missing field at its entry, an unknown key at the key; sorted by position', () => {
    expect(messages('items:\n  b:\n    colour: red\n  a:\n    size: 0\n')).toEqual([
      'f.yaml:3:5: item b: size: missing required field (expected number)',
      'f.yaml:3:5: item b: colour: unknown key "colour" (did you mean "color"?) (allowed: size, tags, color)',
      'f.yaml:5:11: item a: size: expected number > 0, got number 0',
    ]);
  });

  it('reports YAML syntax errors before anything else', () => {
    expect(messages('items:\n  a: [1\n')[0]).toMatch(/^f\.yaml:\d+:\d+: YAML syntax error: /);
  });

  it('follows the wording: key noun, type names, prefix hints, list minimum', () => {
    const text = 'items:\n  A: {}\n  b: { size: 1, tags: [], siz: 1 }\n  c: 5\n';
    expect(messages(text)).toEqual([
      'f.yaml:2:3: item A: invalid key "A": lowercase only',
      'f.yaml:3:23: item b: tags: expected at least 1 item(s)',
      'f.yaml:3:27: item b: siz: unknown key "siz" (did you mean "size"?) (allowed: size, tags, color)',
      'f.yaml:4:6: item c: expected object, got number 5',
    ]);
    const custom: IssueWording = { ...WORDING, keyNoun: 'item name', typeNames: { object: 'a mapping' }, schemaListMinimum: true };
    expect(messages(text, custom)).toEqual([
      'f.yaml:2:3: item A: invalid item name "A": lowercase only',
      'f.yaml:3:23: item b: tags: list at least one tag',
      'f.yaml:3:27: item b: siz: unknown key "siz" (did you mean "size"?) (allowed: size, tags, color)',
      'f.yaml:4:6: item c: expected a mapping, got number 5',
    ]);
  });

  it('suggests enum values', () => {
    expect(messages('items:\n  a: { size: 1, color: gren }\n')).toEqual([
      'f.yaml:2:24: item a: color: expected one of red, green, got string "gren" (did you mean "green"?)',
    ]);
  });
});

describe('didYouMean', () => {
  it('suggests the closest candidate, or else a unique prefix unless told not to', () => {
    expect(didYouMean('tiers', ['tier', 'tools'])).toBe(' (did you mean "tier"?)');
    expect(didYouMean('json', ['json_mode', 'tools'])).toBe(' (did you mean "json_mode"?)');
    expect(didYouMean('json', ['json_mode', 'tools'], { prefixes: false })).toBe('');
    expect(didYouMean('zzzz', ['json_mode', 'tools'])).toBe('');
  });
});

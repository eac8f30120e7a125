import { describe, expect, it } from 'vitest';
import { parseLabels, scanSamples } from './prom-text.js';

function collect(text: string, names: string[]): Array<[string, string, number]> {
  const out: Array<[string, string, number]> = [];
  scanSamples(
    text,
    (n) => names.includes(n),
    (n, l, v) => out.push([n, l, v]),
  );
  return out;
}

describe('scanSamples', () => {
  it('reads wanted samples with and without labels, skipping comments and other series', () => {
    const text = ['# HELP a Something.', '# TYPE a gauge', 'a{x="1"} 2.5', 'b{x="1"} 9', 'a 3e+2', '  a{y="z"}   7   1700000000000', ''].join('\n');
    expect(collect(text, ['a'])).toEqual([
      ['a', 'x="1"', 2.5],
      ['a', '', 300],
      ['a', 'y="z"', 7],
    ]);
  });

  it('finds the closing brace past braces, commas and escaped quotes inside label values', () => {
    const text = 'm{a="x}y",b="q\\"}\\"",c="d"} 4\n';
    expect(collect(text, ['m'])).toEqual([['m', 'a="x}y",b="q\\"}\\"",c="d"', 4]]);
  });

  it('understands the special values and CRLF line ends', () => {
    expect(collect('m +Inf\r\nm -Inf\r\nm NaN\r\nm 1\r\n', ['m']).map((s) => s[2])).toEqual([Infinity, -Infinity, NaN, 1]);
  });

  it('skips torn or malformed lines instead of misreading them', () => {
    expect(collect('m{a="unterminated 5\nm notanumber\nm\nm 2', ['m'])).toEqual([['m', '', 2]]);
  });

  it('does not confuse a name with a longer name that starts with it', () => {
    expect(collect('m_total 1\nm 2\n', ['m'])).toEqual([['m', '', 2]]);
  });
});

describe('parseLabels', () => {
  it('parses pairs and unescapes values', () => {
    expect(parseLabels('a="x",b="say \\"hi\\"",c="back\\\\slash",d="two\\nlines",e=""')).toEqual({
      a: 'x',
      b: 'say "hi"',
      c: 'back\\slash',
      d: 'two\nlines',
      e: '',
    });
  });

  it('accepts a trailing comma and spaces', () => {
    expect(parseLabels(' a = "1", b="2",')).toEqual({ a: '1', b: '2' });
  });
});

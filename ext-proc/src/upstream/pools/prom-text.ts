/**
 * Just enough of Prometheus' text exposition format to read a model server's gauges: sample
 * lines `name{label="value",...} value [timestamp]`, comments skipped. Labels are handed over
 * unparsed so the caller pays for them only on the few series it cares about; a vLLM /metrics
 * page is mostly histogram buckets nobody here reads.
 */

/** Called per sample whose name `wanted` accepted; `labels` is the text between the braces. */
export type SampleVisitor = (name: string, labels: string, value: number) => void;

export function scanSamples(text: string, wanted: (name: string) => boolean, visit: SampleVisitor): void {
  let pos = 0;
  const end = text.length;
  while (pos < end) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = end;
    const line = pos;
    pos = eol + 1;
    let i = line;
    while (i < eol && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    if (i >= eol || text.charCodeAt(i) === 35 /* # */) continue;
    const nameStart = i;
    while (i < eol) {
      const c = text.charCodeAt(i);
      if (c === 123 /* { */ || c === 32 || c === 9) break;
      i++;
    }
    const name = text.slice(nameStart, i);
    if (!wanted(name)) continue;
    let labels = '';
    if (text.charCodeAt(i) === 123) {
      const close = closingBrace(text, i + 1, eol);
      if (close < 0) continue; // a torn line: skip it rather than misread the value
      labels = text.slice(i + 1, close);
      i = close + 1;
    }
    while (i < eol && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    let j = i;
    while (j < eol && text.charCodeAt(j) !== 32 && text.charCodeAt(j) !== 9 && text.charCodeAt(j) !== 13) j++;
    const value = parseValue(text.slice(i, j));
    if (value !== undefined) visit(name, labels, value);
  }
}

/** Index of the `}` closing a label set that starts at `from`, honouring quoted values; -1 if none. */
function closingBrace(text: string, from: number, eol: number): number {
  let quoted = false;
  for (let i = from; i < eol; i++) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 125 /* } */) return i;
  }
  return -1;
}

function parseValue(s: string): number | undefined {
  if (s === '') return undefined;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  const v = Number(s);
  return Number.isNaN(v) && s !== 'NaN' ? undefined : v;
}

/** Parses a label set's text (`a="x",b="y"`) into a record, unescaping `\\`, `\"` and `\n`. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === ',' || text[i] === '\t')) i++;
    if (i >= n) break;
    const eq = text.indexOf('=', i);
    if (eq < 0) break;
    const key = text.slice(i, eq).trim();
    i = eq + 1;
    while (i < n && text[i] === ' ') i++;
    if (text[i] !== '"') break;
    i++;
    let value = '';
    while (i < n && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < n) {
        const e = text[i + 1];
        value += e === 'n' ? '\n' : e;
        i += 2;
      } else {
        value += text[i];
        i++;
      }
    }
    i++; // the closing quote
    out[key] = value;
  }
  return out;
}

/**
 * A YAML config file validated with zod, and every problem in it located in the file:
 *
 *   models/catalog.yaml:42:5: models[3] (id: gpt-4o): pricing.input: expected number >= 0, got number -1
 *
 * Each message reads `file:line:col: entry: field: message`. The line and column come from the
 * YAML node the problem's path points at, or from its nearest existing ancestor (a missing field
 * points at its entry). What counts as an entry, and a little of the wording, is the loader's
 * choice ({@link IssueWording}); the rest is shared, so config files report problems alike.
 *
 * Problems are collected stage by stage (YAML syntax, then the schema, then whatever checks the
 * loader adds) and thrown together at the end of a stage as the loader's own error type.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { z } from 'zod';

/** One step of a path inside the document: a mapping key or a list index. */
export type Segment = string | number;

/** One problem, already located in the source file. */
export interface LocatedIssue {
  /** 1-based; 0 when unknown (e.g. the file could not be read). */
  line: number;
  col: number;
  /** Path inside the document, e.g. ['models', 3, 'pricing', 'input']. */
  path: readonly Segment[];
  /** The formatted one-line message (also a line of the thrown error's message). */
  message: string;
}

/** Every problem found in one file; the message lists them, one a line. Loaders subclass it. */
export class YamlSourceError extends Error {
  readonly source: string;
  readonly issues: readonly LocatedIssue[];

  constructor(name: string, source: string, issues: readonly LocatedIssue[]) {
    super(issues.map((i) => i.message).join('\n'));
    this.name = name;
    this.source = source;
    this.issues = issues;
  }
}

/** The loader's error type: built from the source name and its issues, sorted by position. */
export type IssuesError = new (source: string, issues: readonly LocatedIssue[]) => YamlSourceError;

/** How a loader names the places and problems in its file. */
export interface IssueWording {
  /** The entry a path is in, e.g. `tenant acme`; `value` is the whole document as plain data. */
  entryLabel(path: readonly Segment[], value: unknown): string;
  /** The part of `path` below its entry, shown as the field (e.g. `limits.rpm`). */
  fieldPath(path: readonly Segment[]): readonly Segment[];
  /** What a key rejected by a record's key schema is called: `invalid <keyNoun> "x": ...`. Default `key`. */
  keyNoun?: string;
  /** Names for zod's type names in "expected X" (`int` is always `integer`), e.g. `{ object: 'a mapping' }`. */
  typeNames?: Readonly<Record<string, string>>;
  /** "did you mean" may also suggest the one key that starts with what was written. Default true. */
  hintPrefixes?: boolean;
  /** A too-short list reports the schema's own message rather than "expected at least N item(s)". */
  schemaListMinimum?: boolean;
}

export class YamlSource {
  readonly issues: LocatedIssue[] = [];
  private data: unknown = undefined;

  private constructor(
    private readonly source: string,
    private readonly doc: Document,
    private readonly lc: LineCounter,
    private readonly wording: IssueWording,
    private readonly error: IssuesError,
  ) {}

  /** Parses `text` (named `source` in messages); throws `error` listing every YAML problem. */
  static parse(text: string, source: string, wording: IssueWording, error: IssuesError): YamlSource {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
    const src = new YamlSource(source, doc, lineCounter, wording, error);

    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const summary = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?\s*$/, '');
        src.addAt(err.pos[0], [], `YAML syntax error: ${summary}`);
      }
      src.throwIfAny();
    }

    try {
      src.data = doc.toJS(); // can throw, e.g. on excessive alias expansion
    } catch (err) {
      src.addAt(0, [], `YAML error: ${err instanceof Error ? err.message : String(err)}`);
      src.throwIfAny();
    }
    return src;
  }

  /** The document as plain data (undefined or null for an empty file). */
  get value(): unknown {
    return this.data;
  }

  /** The document checked against `schema`; throws listing every problem the schema finds. */
  validate<S extends z.ZodType>(schema: S, params?: z.core.ParseContext<z.core.$ZodIssue>): z.output<S> {
    const parsed = schema.safeParse(this.data, params);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) this.addZodIssue(schema, issue);
    this.throwIfAny();
    throw new Error('unreachable: schema failed without issues');
  }

  throwIfAny(): void {
    if (this.issues.length === 0) return;
    const sorted = [...this.issues].sort((a, b) => a.line - b.line || a.col - b.col);
    throw new this.error(this.source, sorted);
  }

  /** `file:line:col` of the node at `path` (or its nearest existing ancestor). */
  where(path: readonly Segment[], key = false): string {
    const { line, col } = this.position(path, key);
    return `${this.source}:${line}:${col}`;
  }

  /** The loader's name for the entry `path` is in. */
  entryLabel(path: readonly Segment[]): string {
    return this.wording.entryLabel(path, this.data);
  }

  /** An issue at a character offset in the text; the message is `text` as is. */
  addAt(offset: number | undefined, path: readonly Segment[], text: string): void {
    const { line, col } = this.lc.linePos(offset ?? 0);
    this.issues.push({ line, col, path, message: `${this.source}:${line}:${col}: ${text}` });
  }

  /** An issue located at `path`; the message is prefixed with the entry and field names. */
  addAtPath(path: readonly Segment[], text: string, pointAtKey = false): void {
    const { line, col } = this.position(path, pointAtKey);
    const field = formatPath(this.wording.fieldPath(path));
    const body = [this.entryLabel(path), field, text].filter((s) => s !== '').join(': ');
    this.issues.push({ line, col, path, message: `${this.source}:${line}:${col}: ${body}` });
  }

  private addZodIssue(schema: z.ZodType, issue: z.core.$ZodIssue): void {
    const path = issue.path.filter((s): s is Segment => typeof s === 'string' || typeof s === 'number');
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeysAt(schema, path);
        const prefixes = this.wording.hintPrefixes ?? true;
        for (const key of issue.keys) {
          const hint = allowed ? `${didYouMean(key, allowed, { prefixes })} (allowed: ${allowed.join(', ')})` : '';
          this.addAtPath([...path, key], `unknown key "${key}"${hint}`, true);
        }
        return;
      }
      case 'invalid_key': {
        const inner = issue.issues.map((i) => i.message).join('; ');
        const noun = this.wording.keyNoun ?? 'key';
        this.addAtPath(path, `invalid ${noun} ${JSON.stringify(path.at(-1))}: ${inner}`, true);
        return;
      }
      default:
        this.addAtPath(path, this.describe(issue, path));
    }
  }

  private describe(issue: z.core.$ZodIssue, path: readonly Segment[]): string {
    // The value zod saw when it reports its input (`reportInput`), else the one in the document.
    const input = (): unknown => (issue.input !== undefined ? issue.input : valueAt(this.data, path));
    switch (issue.code) {
      case 'invalid_type': {
        const expected = issue.expected === 'int' ? 'integer' : this.typeName(issue.expected);
        if (isMissing(this.data, path)) return `missing required field (expected ${expected})`;
        return `expected ${expected}, got ${describeValue(input())}`;
      }
      case 'too_small': {
        if (issue.origin === 'string') return 'must not be empty';
        if (issue.origin === 'array' && this.wording.schemaListMinimum) return issue.message;
        if (issue.origin === 'array' || issue.origin === 'set') return `expected at least ${issue.minimum} item(s)`;
        const op = issue.inclusive ? '>=' : '>';
        return `expected number ${op} ${issue.minimum}, got ${describeValue(input())}`;
      }
      case 'too_big': {
        if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
        if (issue.origin === 'array' || issue.origin === 'set') return `expected at most ${issue.maximum} item(s)`;
        const op = issue.inclusive ? '<=' : '<';
        return `expected number ${op} ${issue.maximum}, got ${describeValue(input())}`;
      }
      case 'invalid_value': {
        const options = issue.values.map((v) => String(v));
        if (isMissing(this.data, path)) return `missing required field (expected one of ${options.join(', ')})`;
        const got = input();
        const hint = typeof got === 'string' ? didYouMean(got, options) : '';
        return `expected one of ${options.join(', ')}, got ${describeValue(got)}${hint}`;
      }
      default:
        return issue.message;
    }
  }

  private typeName(expected: string): string {
    const names = this.wording.typeNames ?? {};
    return Object.hasOwn(names, expected) ? names[expected]! : expected;
  }

  /**
   * Walks the YAML node tree along `path` and stops at the deepest node that exists (a missing
   * field points at its parent mapping, i.e. the entry). With `key`, a final mapping key points at
   * the key itself rather than its value.
   */
  private position(path: readonly Segment[], key: boolean): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && scalarKey(p.key) === String(seg));
        if (!pair) break;
        if (key && i === path.length - 1) {
          offset = rangeStart(pair.key) ?? offset;
          break;
        }
        next = pair.value ?? pair.key; // `field:` with no value: point at the key
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      } else {
        break;
      }
      const start = rangeStart(next);
      if (start === undefined) break;
      offset = start;
      node = next;
      if (isAlias(node)) break; // don't follow anchors to another place in the file
    }
    return this.lc.linePos(offset);
  }
}

/** The value at `path` in plain data, or undefined where the path leads nowhere. */
export function valueAt(root: unknown, path: readonly Segment[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/**
 * ` (did you mean "x"?)` for the candidate closest to `input` (case-insensitive edit distance of
 * at most a third of its length), else ''. With `prefixes` (the default), failing that, the one
 * candidate that starts with `input` ("json" -> "json_mode").
 */
export function didYouMean(input: string, candidates: readonly string[], { prefixes = true } = {}): string {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(input.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  const limit = Math.max(1, Math.floor(input.length / 3));
  if (best === undefined || bestDist > limit) {
    const prefixed = prefixes ? candidates.filter((c) => input.length >= 3 && c.toLowerCase().startsWith(input.toLowerCase())) : [];
    best = prefixed.length === 1 ? prefixed[0] : undefined;
  }
  return best !== undefined ? ` (did you mean "${best}"?)` : '';
}

/** Keys allowed by the (strict) object schema found at `path`, for "did you mean". */
export function allowedKeysAt(schema: z.ZodType, path: readonly Segment[]): string[] | undefined {
  let s: unknown = schema;
  const unwrap = () => {
    for (;;) {
      if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) s = s.unwrap();
      else if (s instanceof z.ZodPipe) s = s.in;
      else return;
    }
  };
  for (const seg of path) {
    unwrap();
    if (s instanceof z.ZodObject && typeof seg === 'string') s = (s.shape as Record<string, unknown>)[seg];
    else if (s instanceof z.ZodArray && typeof seg === 'number') s = s.element;
    else if (s instanceof z.ZodRecord && typeof seg === 'string') s = s.valueType;
    else return undefined;
  }
  unwrap();
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

function scalarKey(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  return typeof k === 'string' || typeof k === 'number' ? String(k) : undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as { range?: [number, number, number] | null }).range;
    if (range) return range[0];
  }
  return undefined;
}

function isMissing(root: unknown, path: readonly Segment[]): boolean {
  if (path.length === 0) return root === undefined;
  const parent = valueAt(root, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return false;
  return !Object.hasOwn(parent, path.at(-1)!);
}

function formatPath(path: readonly Segment[]): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

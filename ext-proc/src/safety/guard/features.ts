/**
 * The guard's features of one text, in one pass over its normalised form:
 *
 *   - hashed word unigrams (each twice: shared, and in its channel's namespace) and bigrams, and
 *     hashed character 4-grams (signed hashing into 2^hashBits buckets; each bucket counted once
 *     per text; each of the two groups scaled to unit length, so a long text and a short one
 *     weigh alike);
 *   - dense cue features (cues.ts): co-occurring word classes, class counts and structural cues,
 *     each present three times: shared, and once more for the text's own channel only, so the
 *     model can weigh a cue differently in a user turn and in a tool result;
 *   - the channel itself (its bias).
 *
 * Base64 blobs that decode to text are decoded and their words join the text's. Nothing here
 * allocates per word: lexicon lookups go through an IntMap of word hashes.
 */
import { createHash } from 'node:crypto';
import { IntMap } from '../../classify/intmap.js';
import {
  CAPS_ALERT,
  CHAT_TEMPLATE,
  CLS,
  COUNT_CUES,
  CSS_HIDDEN,
  type CueClass,
  HTML_COMMENT,
  LEXICON,
  MARKDOWN_IMAGE_QUERY,
  PAIR_CUES,
  PHRASES,
  ROLE_LINE,
  STRUCTURAL_CUES,
  URL_LONG_QUERY,
  URL_PLACEHOLDER,
} from './cues.js';
import { NORMALISER_VERSION, Normaliser } from './normalise.js';

/** Where a text came from: the caller's own words, or content it passes along (tool results, documents). */
export type Channel = 'user' | 'data';
export const CHANNELS: readonly Channel[] = ['user', 'data'];

/** Receives the hashed features of a text, one group at a time. */
export interface GuardSink {
  begin(): void;
  /** A bucket with its hashing sign (±1); each bucket comes at most once per text. */
  add(bucket: number, sign: number): void;
  /** The group is complete: every value of it is worth `scale`. */
  end(scale: number): void;
}

// ---------------------------------------------------------------------------------------------------
// Hashing

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

export function wordHash(word: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), FNV_PRIME);
  return h;
}

const pairHash = (prev: number, next: number): number => (Math.imul(prev, 0x9e3779b1) ^ next) | 0;

/** Namespace seeds: the same string as a word, a bigram or a character n-gram is three features. */
const SEED = { word: 0x1b873593, bigram: 0x5bd1e995, char4: 0x165667b1, userWord: 0x2f6b1c3d, dataWord: 0x7a1e93b5 } as const;

// ---------------------------------------------------------------------------------------------------
// Dense feature layout

const PAIR_NAMES = PAIR_CUES.map((c) => `pair_${c.name}`);
const COUNT_NAMES = COUNT_CUES.map((c) => `count_${c}`);
/** The cue features of one copy, in order. */
export const CUE_NAMES: readonly string[] = [...PAIR_NAMES, ...COUNT_NAMES, ...STRUCTURAL_CUES];
const N_CUES = CUE_NAMES.length;
/** Dense vector: shared cues, user-only cues, data-only cues, then the channel's one-hot bias. */
export const DENSE_NAMES: readonly string[] = [
  ...CUE_NAMES.map((n) => `all:${n}`),
  ...CUE_NAMES.map((n) => `user:${n}`),
  ...CUE_NAMES.map((n) => `data:${n}`),
  'bias:user',
  'bias:data',
];
export const DENSE_COUNT = DENSE_NAMES.length;

/** Character n-gram length (4-grams alone did as well as 3+4+5 on batches a and b, at a third of the cost). */
export const CHAR_GRAM = 4;
/**
 * Length of each hashed group's vector (word n-grams; character n-grams), against the cue
 * features' 0–1 values. Chosen on batches a and b only (trained on one, scored on the other).
 */
export const HASHED_SCALE = 3;

/**
 * A digest of everything that decides which feature a text produces: weights trained for another
 * feature set are refused at load.
 */
export function featureFingerprint(): string {
  const spec = JSON.stringify({
    v: 1,
    normaliser: NORMALISER_VERSION,
    seeds: SEED,
    chars: CHAR_GRAM,
    hashedScale: HASHED_SCALE,
    dense: DENSE_NAMES,
    lexicon: LEXICON,
    phrases: PHRASES,
    pairs: PAIR_CUES,
    hints: [CSS_WORDS, TEMPLATE_WORDS],
    regex: [ROLE_LINE, CHAT_TEMPLATE, MARKDOWN_IMAGE_QUERY, URL_LONG_QUERY, URL_PLACEHOLDER, HTML_COMMENT, CSS_HIDDEN, CAPS_ALERT].map(String),
    base64: 24,
  });
  return `guard-v1-${createHash('sha256').update(spec).digest('hex').slice(0, 16)}`;
}

// ---------------------------------------------------------------------------------------------------
// Lexicon tables

const CLASS_KEYS = Object.keys(CLS) as CueClass[];
const N_CLASSES = CLASS_KEYS.length;
const CLASS_INDEX = new Map(CLASS_KEYS.map((k, i) => [k, i]));

/**
 * Bits above the classes' in a word's lexicon entry: words that make a structural expression
 * worth running (they cost a whole scan of the text, so they run only after a hint).
 */
const HINT_CSS = 1 << 30;
const HINT_TEMPLATE = 1 << 31;
const CSS_WORDS = ['display', 'visibility', 'opacity', 'color', 'colour', 'font', 'white', 'blanco', 'transparent'];
const TEMPLATE_WORDS = ['end', 'begin', 'fin', 'inst', 'sys'];

function buildWordClasses(): IntMap {
  const m = new Map<number, number>();
  const mark = (w: string, bits: number) => {
    const h = wordHash(w);
    m.set(h, (m.get(h) ?? 0) | bits);
  };
  for (const cls of CLASS_KEYS) for (const w of LEXICON[cls].split(' ')) mark(w, CLS[cls]);
  for (const w of CSS_WORDS) mark(w, HINT_CSS);
  for (const w of TEMPLATE_WORDS) mark(w, HINT_TEMPLATE);
  return new IntMap(m, m.size);
}

/** Characters the n-gram pass notes: line break, question mark, the openers of template tokens, repeated rule characters. */
const NOTE_LINE = 1;
const NOTE_QUESTION = 2;
const NOTE_OPENER = 4;
const NOTE_RULE = 8;
const NOTES = (() => {
  const t = new Uint8Array(0x10000);
  t[0x0a] = NOTE_LINE;
  t[0x3f] = NOTE_QUESTION;
  t[0x3c] = NOTE_OPENER; // <
  t[0x5b] = NOTE_OPENER; // [
  t[0x2d] = NOTE_RULE; // -
  t[0x3d] = NOTE_RULE; // =
  return t;
})();

function buildPhraseClasses(): IntMap {
  const m = new Map<number, number>();
  for (const [phrase, cls] of PHRASES) {
    const [a, b] = phrase.split(' ');
    const h = pairHash(wordHash(a!), wordHash(b!));
    m.set(h, (m.get(h) ?? 0) | CLS[cls]);
  }
  return new IntMap(m, m.size);
}

const WORD_CLASSES = buildWordClasses();
const PHRASE_CLASSES = buildPhraseClasses();

/**
 * For each class: the pair cues to check when a word of that class arrives, as
 * [cue index, the other class's index, window].
 */
const CHECKS: ReadonlyArray<ReadonlyArray<readonly [number, number, number]>> = (() => {
  const out: Array<Array<readonly [number, number, number]>> = CLASS_KEYS.map(() => []);
  PAIR_CUES.forEach((c, k) => {
    const a = CLASS_INDEX.get(c.a)!;
    const b = CLASS_INDEX.get(c.b)!;
    out[b]!.push([k, a, c.window]);
    if (c.both) out[a]!.push([k, b, c.window]);
  });
  return out;
})();
const COUNT_INDEX = COUNT_CUES.map((c) => CLASS_INDEX.get(c)!);
const STRUCT = Object.fromEntries(STRUCTURAL_CUES.map((n, i) => [n, PAIR_CUES.length + COUNT_CUES.length + i])) as Record<
  (typeof STRUCTURAL_CUES)[number],
  number
>;

// ---------------------------------------------------------------------------------------------------
// Extraction

/** A word character of the normalised text: ASCII lower case and digits, other scripts' letters. */
const WORD_CHAR = (() => {
  const t = new Uint8Array(0x10000);
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0xe0; c < 0x250; c++) t[c] = 1;
  for (let c = 0x370; c < 0x2000; c++) t[c] = 1;
  for (let c = 0x3040; c < 0xd800; c++) t[c] = 1;
  return t;
})();

/** A text normalised once, ready to have its features taken whole or range by range. */
export interface PreparedText {
  /** The text as given. */
  raw: string;
  /** Normalised code units (with the decoded base64 text, if any, after a line break). */
  codes: Uint16Array;
  length: number;
  /** The same as a string (for the role-marker and template expressions). */
  text: string;
  /** Cues of the text as a whole (structure, obfuscation), the same for each of its ranges. */
  textCues: Float32Array;
}

/**
 * Extracts features text by text. Holds reusable buffers (the seen-bucket stamps, the cue vector):
 * one instance per thread of use.
 */
export class GuardExtractor {
  /** The namespace of the channel-specific copy of each word (set per extraction). */
  private channelWordSeed: number = SEED.userWord;
  private readonly normaliser = new Normaliser();
  /** Per bucket, the stamp of the last text range that emitted it (a byte: cleared every 255 ranges). */
  private readonly stamps: Uint8Array;
  private stamp = 0;
  private readonly lastPos = new Int32Array(N_CLASSES);
  private readonly classCounts = new Int32Array(N_CLASSES);
  readonly cues = new Float32Array(N_CUES);
  readonly dense = new Float32Array(DENSE_COUNT);
  /** What the last range's n-gram pass noted (NOTE_*), and its line breaks. */
  private notes = 0;
  private lines = 0;
  /** Hint bits (HINT_*) of the last range's words. */
  private hints = 0;

  constructor(private readonly mask: number) {
    this.stamps = new Uint8Array(mask + 1);
  }

  /** Streams the hashed features of `raw` into `sink` and returns its dense features (a reused buffer). */
  extract(raw: string, channel: Channel, sink: GuardSink): Float32Array {
    const p = this.prepare(raw);
    return this.extractRange(p, 0, p.length, channel, sink);
  }

  /** Normalises a text and takes its whole-text cues. The codes stay valid until the next call. */
  prepare(raw: string): PreparedText {
    const norm = this.normaliser.normalise(raw);
    const decoded = norm.blobs.length > 0 ? decodedBlobs(norm.source, norm.blobs) : undefined;
    const textCues = new Float32Array(N_CUES);
    const c = textCues;
    const url = raw.includes('://');
    c[STRUCT.markdown_image_query] = url && raw.includes('![') && MARKDOWN_IMAGE_QUERY.test(raw) ? 1 : 0;
    c[STRUCT.url_long_query] = url && URL_LONG_QUERY.test(raw) ? 1 : 0;
    c[STRUCT.url_placeholder] = url && URL_PLACEHOLDER.test(raw) ? 1 : 0;
    c[STRUCT.base64_blob] = norm.blobs.length > 0 ? 1 : 0;
    c[STRUCT.base64_text] = decoded !== undefined ? 1 : 0;
    c[STRUCT.html_comment] = raw.includes('<!--') && HTML_COMMENT.test(raw) ? 1 : 0;
    c[STRUCT.caps_alert] = CAPS_ALERT.test(raw) ? 1 : 0;
    c[STRUCT.invisible_chars] = Math.log1p(norm.invisible) / 2;
    c[STRUCT.tag_chars] = norm.tagChars > 0 ? 1 : 0;
    c[STRUCT.homoglyphs] = Math.log1p(norm.homoglyphs) / 2;
    c[STRUCT.leetspeak] = Math.log1p(norm.leet) / 2;
    c[STRUCT.spelled_out] = norm.spaced > 0 ? 1 : 0;
    if (decoded === undefined) return { raw, codes: norm.codes, length: norm.codes.length, text: norm.text, textCues };
    // The decoded text joins the text's own (a rare path: allocations are fine here).
    const text = `${norm.text}\n${this.normaliser.normalise(decoded).text}`;
    const codes = new Uint16Array(text.length);
    for (let i = 0; i < text.length; i++) codes[i] = text.charCodeAt(i);
    return { raw, codes, length: codes.length, text, textCues };
  }

  /** Features of codes[start, end) of a prepared text: hashed ones into `sink`, dense ones returned. */
  extractRange(p: PreparedText, start: number, end: number, channel: Channel, sink: GuardSink): Float32Array {
    const cues = this.cues;
    cues.set(p.textCues);
    this.nextStamp();
    sink.begin();
    this.channelWordSeed = channel === 'user' ? SEED.userWord : SEED.dataWord;
    const words = this.words(p.codes, start, end, sink);
    sink.end(words > 0 ? HASHED_SCALE / Math.sqrt(words) : 0);
    this.nextStamp();
    sink.begin();
    const grams = this.charGrams(p.codes, start, end, sink);
    sink.end(grams > 0 ? HASHED_SCALE / Math.sqrt(grams) : 0);
    const text = start === 0 && end === p.length ? p.text : p.text.slice(start, end);
    cues[STRUCT.role_line] = ROLE_LINE.test(text) ? 1 : 0;
    const notes = this.notes;
    cues[STRUCT.chat_template] = ((notes & (NOTE_OPENER | NOTE_RULE)) !== 0 || (this.hints & HINT_TEMPLATE) !== 0) && CHAT_TEMPLATE.test(text) ? 1 : 0;
    // Hidden-text styling anywhere in the text, once a word of this range mentions styling.
    cues[STRUCT.css_hidden] = (this.hints & HINT_CSS) !== 0 && CSS_HIDDEN.test(p.raw) ? 1 : 0;
    cues[STRUCT.question] = (notes & NOTE_QUESTION) !== 0 ? 1 : 0;
    cues[STRUCT.lines] = Math.log1p(this.lines + 1) / 4;
    cues[STRUCT.length] = Math.log1p(end - start) / 8;
    const d = this.dense;
    d.fill(0);
    const copy = channel === 'user' ? 1 : 2;
    for (let i = 0; i < N_CUES; i++) {
      const v = cues[i]!;
      d[i] = v;
      d[copy * N_CUES + i] = v;
    }
    d[3 * N_CUES + (channel === 'user' ? 0 : 1)] = 1;
    return d;
  }

  private nextStamp(): void {
    this.stamp++;
    if (this.stamp === 0x100) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  /** Sends a hashed feature to the sink unless its bucket already came in this group: 1 if sent. */
  private emit(x: number, sink: GuardSink): number {
    const b = x & this.mask;
    if (this.stamps[b] === this.stamp) return 0;
    this.stamps[b] = this.stamp;
    sink.add(b, x < 0 ? -1 : 1);
    return 1;
  }

  /** Words: unigram and bigram features, lexicon classes and the cues they combine into. */
  private words(codes: Uint16Array, start: number, end: number, sink: GuardSink): number {
    const lastPos = this.lastPos;
    const counts = this.classCounts;
    lastPos.fill(-1000);
    counts.fill(0);
    const cues = this.cues;
    let emitted = 0;
    let hints = 0;
    let prev = 0;
    let pos = 0;
    let i = start;
    while (i < end) {
      let c = codes[i]!;
      if (WORD_CHAR[c] === 0) {
        i++;
        continue;
      }
      let h = FNV_OFFSET;
      while (WORD_CHAR[c] === 1) {
        h = Math.imul(h ^ c, FNV_PRIME);
        if (++i >= end) break;
        c = codes[i]!;
      }
      emitted += this.emit(fmix32(h ^ SEED.word), sink);
      // The same word once more in its channel's own namespace: a word can weigh differently in a
      // user turn and in a document ("ignore" is an edit there, an attack here).
      emitted += this.emit(fmix32(h ^ this.channelWordSeed), sink);
      let cls = WORD_CLASSES.get(h);
      if (pos > 0) {
        const pair = pairHash(prev, h);
        emitted += this.emit(fmix32(pair ^ SEED.bigram), sink);
        cls |= PHRASE_CLASSES.get(pair);
      }
      if (cls !== 0) {
        hints |= cls;
        for (let k = 0; k < N_CLASSES; k++) {
          if ((cls & (1 << k)) === 0) continue;
          counts[k] = counts[k]! + 1;
          const checks = CHECKS[k]!;
          for (let q = 0; q < checks.length; q++) {
            const [cue, other, window] = checks[q]!;
            if (pos - lastPos[other]! <= window) cues[cue] = 1;
          }
        }
        for (let k = 0; k < N_CLASSES; k++) if ((cls & (1 << k)) !== 0) lastPos[k] = pos;
      }
      prev = h;
      pos++;
    }
    for (let q = 0; q < COUNT_INDEX.length; q++) cues[PAIR_CUES.length + q] = Math.log1p(counts[COUNT_INDEX[q]!]!) / 2;
    this.hints = hints;
    return emitted;
  }

  /**
   * Character 4-grams over the normalised text (spaces and punctuation included); on the way, the
   * line breaks and question marks of the range.
   */
  private charGrams(codes: Uint16Array, start: number, end: number, sink: GuardSink): number {
    const stamps = this.stamps;
    const stamp = this.stamp;
    const mask = this.mask;
    let emitted = 0;
    let lines = 0;
    let notes = 0;
    for (let i = start; i < Math.min(end, start + 3); i++) {
      const f = NOTES[codes[i]!]!;
      notes |= f & ~NOTE_RULE;
      if (f === NOTE_LINE) lines++;
    }
    this.lines = lines;
    this.notes = notes;
    if (end - start < CHAR_GRAM) return 0;
    let c0 = codes[start]!;
    let c1 = codes[start + 1]!;
    let c2 = codes[start + 2]!;
    for (let i = start + 3; i < end; i++) {
      const c3 = codes[i]!;
      const f = NOTES[c3]!;
      if (f !== 0) {
        if (f === NOTE_LINE) lines++;
        // A rule counts as three of the same in a row (`---`, `===`); a lone hyphen is no hint.
        else if (f !== NOTE_RULE || (c2 === c3 && c1 === c3)) notes |= f;
      }
      const h = Math.imul(Math.imul(Math.imul(Math.imul(FNV_OFFSET ^ c0, FNV_PRIME) ^ c1, FNV_PRIME) ^ c2, FNV_PRIME) ^ c3, FNV_PRIME);
      const x = fmix32(h ^ SEED.char4);
      const b = x & mask;
      if (stamps[b] !== stamp) {
        stamps[b] = stamp;
        sink.add(b, x < 0 ? -1 : 1);
        emitted++;
      }
      c0 = c1;
      c1 = c2;
      c2 = c3;
    }
    this.lines = lines;
    this.notes = notes;
    return emitted;
  }
}

/**
 * The text hidden in base64 blobs, when a blob decodes to readable text (mostly printable, with
 * spaces): joined by newlines, or undefined.
 */
export function decodedBlobs(source: string, blobs: readonly number[]): string | undefined {
  let out: string | undefined;
  for (let k = 0; k < blobs.length; k += 2) {
    const text = Buffer.from(source.slice(blobs[k]!, blobs[k + 1]!), 'base64').toString('utf8');
    let printable = 0;
    let spaces = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x20) spaces++;
      if ((c >= 0x20 && c < 0x7f) || (c >= 0xa0 && c !== 0xfffd) || c === 0x0a) printable++;
    }
    if (text.length >= 8 && printable / text.length >= 0.9 && spaces >= 1) out = out === undefined ? text : `${out}\n${text}`;
  }
  return out;
}

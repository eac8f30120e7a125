/**
 * Feature extraction for the classifier. Two linear passes over the conversation (plus a short
 * one over the instruction) produce
 *   - hashed word features in separate namespaces (instruction, instruction character 3/4-grams,
 *     sentence starts, pasted material, previous user instruction, other context, system), each
 *     namespace scaled by its own scale / sqrt(features in it) so that a longer text does not
 *     weigh more;
 *   - a vector of named dense ("cheap") features: structure (code fences, code-like lines, LaTeX,
 *     math symbols and equations, lists, tables, CSV), the instruction's shape (enumerated items,
 *     sentences, numbers, separate asks), question type, multi-step / proof / design / constraint /
 *     answer-form / requirement markers and domain cue words (EN, ES, PT, FR, DE; lexicon.ts)
 *     counted per region, sizes, language, capabilities;
 * plus the language, capability flags and token estimate the classifier reports.
 *
 * The instruction is kept apart from pasted material. The last user turn is split into
 *   instruction = all its prose when that prose is short (≤ 600 characters outside code fences and
 *                 quotes); otherwise its first paragraph (or first sentence, if that paragraph is
 *                 long) and its last paragraph (or last sentence — usually the question),
 *   material    = everything else: fenced code, quoted lines, middle paragraphs.
 * Instruction words get unigrams, bigrams, 4/5-letter prefixes and 4-letter suffixes (stems and
 * EN/ES cognates) and sentence-start features, and its first MAX_GRAM_CHARS characters give
 * character 3/4-grams (language-robust: German compounds, French and Portuguese inflections, an
 * author's spelling); material only its first MAX_MATERIAL_WORDS words as unigrams, so pasted text
 * reaches the model mostly through structure counts and cue words.
 *
 * Performance: everything works on index ranges of the original strings with module-level scratch
 * buffers (no substrings, no per-call tables); words are hashed (FNV-1a) straight from folded char
 * codes. Text beyond the scan budgets is not read (its tokens are extrapolated), so the cost of a
 * decision is bounded whatever the prompt size. Not re-entrant (synchronous, single thread).
 */
import { FNV_OFFSET, FNV_PRIME, FOLD, NS_SEEDS, fmix32, highClass, pairHash } from './hash.js';
import {
  L_EN,
  L_ES,
  L_OTHER,
  LEXICON,
  M_FIRST,
  M_THEN,
  MARKER_COUNT,
  MARKER_SHIFT,
  MARKERS,
  PAIR_LEXICON,
  Q_EXPLAIN,
  Q_FACTOID,
  Q_YESNO,
  lexiconFingerprint,
} from './lexicon.js';
import type { Marker } from './lexicon.js';
import type { ClassifyRequest, Language } from './types.js';

/*
 * Module-local copies of the imported bindings used on the hot path: reading a local const is
 * cheaper than an imported binding in some module loaders (vitest's rewrites them to property
 * reads), and it costs nothing under plain Node ESM.
 */
const mix = fmix32;
const pair = pairHash;
const charClass = highClass;
const lexicon = LEXICON;
const pairLexicon = PAIR_LEXICON;
const FNV_OFF = FNV_OFFSET;
const FNV_MUL = FNV_PRIME;
const MARKER_BIT0 = MARKER_SHIFT;
const N_MARKERS = MARKER_COUNT;
const LANG_EN = L_EN;
const LANG_ES = L_ES;
const LANG_OTHER = L_OTHER;
const FIRST = M_FIRST;
const THEN = M_THEN;
const QF = Q_FACTOID;
const QE = Q_EXPLAIN;
const QY = Q_YESNO;

/** Receives hashed features namespace by namespace. */
export interface FeatureSink {
  begin(): void;
  /** One occurrence of a hashed feature: bucket in [0, 2^bits), sign ±1. */
  add(bucket: number, sign: number): void;
  /** Closes the namespace; every occurrence added since begin() is worth `scale`. */
  end(scale: number): void;
}

/** What extract() reports besides the features it sent to the sink. Reused between calls. */
export interface Extracted {
  dense: Float32Array;
  language: Language;
  estimatedTokens: number;
  tools: boolean;
  vision: boolean;
  json: boolean;
  longContext: boolean;
}

export interface ExtractOptions {
  /** Mask of the hashed feature space (2^bits − 1). */
  mask: number;
  /** estimatedTokens + max_tokens at or above this is long context. */
  longContextTokens: number;
}

export const DEFAULT_LONG_CONTEXT_TOKENS = 32_000;
/** Rough prompt cost of one image part (OpenAI high detail, 1024×1024). */
export const TOKENS_PER_IMAGE = 765;
/** Per-message overhead of the chat format. */
export const TOKENS_PER_MESSAGE = 4;

// --- Segmentation constants ----------------------------------------------------------------------
/** A last turn whose prose (outside code fences / quotes) is at most this long is all instruction. */
const SHORT_PROSE = 600;
/** A first/last paragraph up to this long is instruction as a whole; longer: only its edge sentence. */
const EDGE_PARAGRAPH = 400;
/** An edge sentence is cut at this many characters. */
const EDGE_SENTENCE = 300;

// --- Scan budgets (bound the cost for huge prompts) ------------------------------------------------
const MAX_INSTRUCTION_WORDS = 600;
/** Pasted material counts through its structure; only its first words are read as words. */
const MAX_MATERIAL_WORDS = 200;
const MAX_PREVIOUS_WORDS = 400;
const MAX_CONTEXT_WORDS = 600;
const MAX_SYSTEM_WORDS = 300;
/** Characters of the last user turn scanned for structure (the rest is extrapolated for tokens). */
const LAST_TURN_SCAN_CHARS = 48_000;
/** Characters of all other messages scanned for structure, most recent first. */
const CONTEXT_SCAN_CHARS = 24_000;

/**
 * Every hashed namespace is scaled by HASHED_SCALE / sqrt(features in it): length-neutral, and
 * a little below the dense features' unit scale so that the (few, general) cheap features are
 * regularised less than the (many, specific) word features.
 */
const HASHED_SCALE = 0.7;
/**
 * Namespaces that mostly memorise an author's vocabulary and topics (pasted material, earlier
 * turns, system prompt) weigh less than the instruction: held out by author, that generalises
 * a little better.
 */
const SCALE_INSTR = HASHED_SCALE;
const SCALE_SENT = HASHED_SCALE;
const SCALE_MAT = 0.4;
const SCALE_PREV = 0.5;
const SCALE_CTX = 0.4;
const SCALE_SYS = 0.4;
/**
 * Character 3- and 4-grams of the instruction, in a namespace of their own: stems, inflections
 * and cognates shared across languages and authors' spellings. Full scale: they are many and
 * general, so each carries little.
 */
const GRAM_SCALE = 1;
/** Characters of the instruction read for n-grams and its shape (the instruction is short by construction). */
const MAX_GRAM_CHARS = 1500;

// --- Word groups (marker counts are kept per group) -----------------------------------------------
const G_INSTR = 0;
const G_MATERIAL = 1;
const G_PREVIOUS = 2;
const G_CONTEXT = 3;
const GROUPS = 4;
const GROUP_NAMES = ['instr', 'material', 'prev', 'ctx'] as const;

// --- Language regions: [instruction, material, previous instruction, other user/system, assistant]
const LANG_REGIONS = 5;
const LANG_REGION_WEIGHT = [3, 1, 1.5, 1, 0.5] as const;

// --- Line statistics slots: 0 = last user turn, 1 = everything else --------------------------------
const S_LINES = 0;
const S_CODELINES = 1;
const S_FENCES = 2;
const S_QUOTES = 3;
const S_BULLETS = 4;
const S_NUMBERED = 5;
const S_PIPES = 6;
const S_CSV = 7;
const S_LATEX = 8;
const S_DOLLARS = 9;
const S_MATHSYM = 10;
const S_OPS = 11;
const S_DIGITS = 12;
const S_CHARS = 13;
const S_INDENTED = 14;
const S_CURRENCY = 15;
const NSTATS = 16;

// --- Dense features ---------------------------------------------------------------------------------
const BASE_DENSE = [
  'bias',
  'lang_en',
  'lang_es',
  'lang_other',
  'user_turns_1',
  'user_turns_2_3',
  'user_turns_4plus',
  'has_system',
  'has_assistant',
  'instr_words_log',
  'instr_tiny',
  'instr_short',
  'instr_long',
  'material_present',
  'material_words_log',
  'material_share',
  'prev_words_log',
  'ctx_words_log',
  'tokens_log',
  'fence_last',
  'fence_ctx',
  'code_lines_last',
  'code_lines_ctx',
  'indented_last',
  'latex_last',
  'latex_ctx',
  'math_symbols_last',
  'math_ops_last',
  'math_ops_ctx',
  'digits_last',
  'table_pipes_last',
  'csv_lines_last',
  'csv_lines_ctx',
  'numbered_lines_last',
  'bullet_lines_last',
  'quote_lines_last',
  'qmarks_instr',
  'clauses_instr',
  'qmarks_material',
  'q_factoid',
  'q_explain',
  'q_yesno',
  'first_then_instr',
  'first_then_prev',
  'short_followup',
  'cap_tools',
  'cap_vision',
  'cap_json',
  'max_tokens_small',
  'max_tokens_large',
  'currency_last',
  'no_domain_marker',
  'instr_items',
  'instr_sentences',
  'instr_numbers',
  'instr_asks',
] as const;

/** Markers that name a domain (the rest are about the task's shape). */
const DOMAIN_MARKERS: readonly Marker[] = ['codeword', 'mathword', 'creative', 'legal', 'medical', 'finance', 'translate', 'dataword'];

/**
 * Names of the dense features, in weight order: the base list, then marker × word group, then
 * "inherited" markers: the previous user instruction's markers again, set only when the last
 * instruction is a short follow-up ("continue", "thanks", "and in Spanish?") — a linear model
 * cannot make that interaction itself.
 */
export const DENSE_NAMES: readonly string[] = Object.freeze([
  ...BASE_DENSE,
  ...GROUP_NAMES.flatMap((g) => MARKERS.map((mk) => `${mk}_${g}`)),
  ...MARKERS.map((mk) => `${mk}_inherited`),
]);
export const DENSE_COUNT = DENSE_NAMES.length;
const D = Object.fromEntries(BASE_DENSE.map((n, i) => [n, i])) as Record<(typeof BASE_DENSE)[number], number>;
const D_MARKERS = BASE_DENSE.length;
const D_INHERITED = D_MARKERS + GROUPS * N_MARKERS;
const DOMAIN_MARKER_INDEX = DOMAIN_MARKERS.map((mk) => MARKERS.indexOf(mk));
const M_TASKVERB = MARKERS.indexOf('taskverb');
const M_REQUIREMENT = MARKERS.indexOf('requirement');
const M_CONSTRAINT = MARKERS.indexOf('constraint');

/** Bump when extraction changes in a way the lists above don't show (segmentation, scaling…). */
const EXTRACTOR_REVISION = 11;

/** Identifies the feature space; weights trained for another one are refused at load. */
export function featureFingerprint(): string {
  let h = 0x9747b28c | 0;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  };
  mix(DENSE_NAMES.join(','));
  mix(Object.values(NS_SEEDS).join(','));
  mix(`${SHORT_PROSE},${EDGE_PARAGRAPH},${EDGE_SENTENCE},${EXTRACTOR_REVISION}`);
  mix(`${[SCALE_INSTR, SCALE_SENT, SCALE_MAT, SCALE_PREV, SCALE_CTX, SCALE_SYS, GRAM_SCALE, MAX_GRAM_CHARS].join(',')}`);
  return `${lexiconFingerprint()}-${(h >>> 0).toString(16).padStart(8, '0')}`;
}

// ---------------------------------------------------------------------------------------------------
// Scratch state (module level, reused by every call)

const dense = new Float32Array(DENSE_COUNT);
const markerCounts = new Int32Array(GROUPS * N_MARKERS);
const qmarks = new Int32Array(GROUPS);
/** Commas and semicolons: a cheap count of clauses (each constraint or sub-task adds one). */
const commas = new Int32Array(GROUPS);
const firstThen = new Int32Array(GROUPS);
const langAcc = new Float64Array(LANG_REGIONS * 3);
const stats = new Int32Array(2 * NSTATS);
/** Sentence-start features of the instruction: word hashes and first-bigram hashes. */
const MAX_SENTENCE_FEATURES = 128;
const sentenceHashes = new Int32Array(MAX_SENTENCE_FEATURES);
let sentenceCount = 0;
let qBits = 0;

/** Segmentation output: [start, end) ranges, instruction first (count in segInstr), then material. */
const MAX_RANGES = 72;
const segLast = new Int32Array(MAX_RANGES * 2);
const segPrev = new Int32Array(MAX_RANGES * 2);
let segInstrCount = 0;
let segMaterialCount = 0;
/** Paragraph blocks found by the segmenter. */
const MAX_PARAS = 32;
const paraBuf = new Int32Array(MAX_PARAS * 2);

const result: Extracted = {
  dense,
  language: 'other',
  estimatedTokens: 0,
  tools: false,
  vision: false,
  json: false,
  longContext: false,
};

/** Module-local alias of the fold table (cheaper than the imported binding in the hot loop). */
const FOLD_TABLE: Uint16Array = FOLD;

// Scanner state (set by scanWords, used by emitWord).
let sink: FeatureSink;
let mask = 0;
let curSeed = 0;
let curSeed2 = 0;
let curSeedP = 0;
let curSeedS = 0;
let curBigrams = false;
let curGroup = 0;
let curLang = 0;
let emitted = 0;
let prevHash = 0;
let hasPrev = false;
let sentenceStart = true;
let sentenceWord = 0;
let sentenceFirst = 0;
let sawFirst = false;

// ---------------------------------------------------------------------------------------------------
// Text of a message

let imagesSeen = 0;

/** The text of a message content (string, or the text parts of an array) ; counts image parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  let parts = 0;
  for (const part of content as unknown[]) {
    if (typeof part === 'string') {
      text = parts++ === 0 ? part : `${text}\n\n${part}`;
      continue;
    }
    if (part === null || typeof part !== 'object') continue;
    const p = part as { type?: unknown; text?: unknown };
    if (p.type === 'image_url' || p.type === 'image' || p.type === 'input_image') {
      imagesSeen++;
      continue;
    }
    if (typeof p.text === 'string') text = parts++ === 0 ? p.text : `${text}\n\n${p.text}`;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------------
// Word scanning

/**
 * Hash of the word's first 4 and 5 folded characters (stems and EN/ES cognates: contr-, diagn-,
 * finan-). Like bigrams, emitted (with the 4-character suffix) only in the instruction-like
 * namespaces (curBigrams), for words of 6 characters or more.
 */
let prefix4 = 0;
let prefix5 = 0;
/** The word's last four folded characters, one per byte: suffixes (-itis, -osis, -azol, -ción). */
let tail = 0;

function emitWord(h: number, len: number): void {
  let x = mix(h ^ curSeed);
  sink.add(x & mask, x < 0 ? -1 : 1);
  emitted++;
  if (curBigrams && len >= 6) {
    x = mix(prefix4 ^ curSeedP);
    sink.add(x & mask, x < 0 ? -1 : 1);
    x = mix(prefix5 ^ curSeedP);
    sink.add(x & mask, x < 0 ? -1 : 1);
    x = mix(Math.imul(tail, 0x2c1b3c6d) ^ curSeedS);
    sink.add(x & mask, x < 0 ? -1 : 1);
    emitted += 3;
  }
  if (hasPrev && curBigrams) {
    // Instruction-like namespaces only: bigram features and two-word lexicon entries.
    const ph = pair(prevHash, h);
    x = mix(ph ^ curSeed2);
    sink.add(x & mask, x < 0 ? -1 : 1);
    emitted++;
    const pb = pairLexicon.get(ph);
    if (pb !== 0) countBits(pb, true);
  }
  const bits = lexicon.get(h);
  if (bits !== 0) countBits(bits, false);
  if (sentenceStart) {
    if (curGroup === G_INSTR) {
      qBits |= bits;
      if (sentenceCount < MAX_SENTENCE_FEATURES) sentenceHashes[sentenceCount++] = h;
    }
    sentenceFirst = h;
    sentenceStart = false;
    sentenceWord = 1;
  } else if (sentenceWord === 1) {
    if (curGroup === G_INSTR && sentenceCount < MAX_SENTENCE_FEATURES) sentenceHashes[sentenceCount++] = pair(sentenceFirst, h) ^ 0x2545f491;
    sentenceWord = 2;
  }
  prevHash = h;
  hasPrev = true;
}

/** emitWord for the unigram-only namespaces (material, context, system): the hot path on long prompts. */
function emitPlain(h: number): void {
  const x = mix(h ^ curSeed);
  sink.add(x & mask, x < 0 ? -1 : 1);
  emitted++;
  const bits = lexicon.get(h);
  if (bits !== 0) countBits(bits, false);
}

function countBits(bits: number, isPair: boolean): void {
  if (!isPair) {
    const l = bits & (LANG_EN | LANG_ES | LANG_OTHER);
    if (l !== 0) {
      const base = curLang * 3;
      if (l & LANG_EN) langAcc[base] = langAcc[base]! + 1;
      if (l & LANG_ES) langAcc[base + 1] = langAcc[base + 1]! + 1;
      if (l & LANG_OTHER) langAcc[base + 2] = langAcc[base + 2]! + 1;
    }
    if (bits & FIRST) sawFirst = true;
    else if (bits & THEN && sawFirst) {
      firstThen[curGroup] = firstThen[curGroup]! + 1;
      sawFirst = false;
    }
  } else if (sentenceWord === 1 && curGroup === G_INSTR) {
    qBits |= bits & (QF | QE); // "how many", "por qué" opening a sentence
  }
  let mb = bits >>> MARKER_BIT0;
  const base = curGroup * N_MARKERS;
  while (mb !== 0) {
    const low = mb & -mb;
    const idx = base + 31 - Math.clz32(low);
    markerCounts[idx] = markerCounts[idx]! + 1;
    mb ^= low;
  }
}

/**
 * Hashes the words of t[start, end) into the current namespace; returns the number of words read
 * (at most maxWords). Sentence boundaries: . ? ! ¿ ¡ : ; and newlines.
 */
function scanWords(t: string, start: number, end: number, maxWords: number): number {
  let h = FNV_OFF;
  let len = 0;
  let words = 0;
  hasPrev = false;
  sentenceStart = true;
  sawFirst = false;
  const fold = FOLD_TABLE;
  const rich = curBigrams;
  tail = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? t.charCodeAt(i) : 32;
    let f = 0;
    if (c < 0x250) f = fold[c]!;
    else {
      const k = charClass(c);
      if (k === 1) f = c;
      else if (k === 2) {
        // An ideograph is a word by itself.
        if (len > 0) {
          emitWord(h, len);
          if (++words >= maxWords) return words;
        }
        emitWord(Math.imul(FNV_OFF ^ c, FNV_MUL), 1);
        if (++words >= maxWords) return words;
        h = FNV_OFF;
        len = 0;
        continue;
      }
    }
    if (f !== 0) {
      h = Math.imul(h ^ f, FNV_MUL);
      len++;
      if (len === 4) prefix4 = h;
      else if (len === 5) prefix5 = h;
      tail = ((tail << 8) ^ f) | 0; // the last 4 folded characters (low byte of each)
      continue;
    }
    if (len > 0) {
      if (rich) emitWord(h, len);
      else emitPlain(h);
      if (++words >= maxWords) return words;
      h = FNV_OFF;
      len = 0;
    }
    if (c === 63) qmarks[curGroup] = qmarks[curGroup]! + 1;
    else if (c === 44 || c === 59) commas[curGroup] = commas[curGroup]! + 1;
    if (c === 46 || c === 63 || c === 33 || c === 10 || c === 58 || c === 59 || c === 0xbf || c === 0xa1) {
      sentenceStart = true;
      hasPrev = false;
    }
  }
  return words;
}

function setNamespace(seed: number, bigrams: boolean, group: number, lang: number): void {
  curSeed = seed;
  curSeed2 = mix(seed ^ 0x5f3759df);
  curSeedP = mix(seed ^ 0x2f6b7a1d);
  curSeedS = mix(seed ^ 0x4cf5ad43);
  curBigrams = bigrams;
  curGroup = group;
  curLang = lang;
}

function endNamespace(base: number): void {
  sink.end(emitted > 0 ? base / Math.sqrt(emitted) : 0);
  emitted = 0;
}

const GRAM_SEED3 = mix(NS_SEEDS.charGrams ^ 0x68e31da4);
const GRAM_SEED4 = mix(NS_SEEDS.charGrams ^ 0x1b56c4e9);
const SPACE = 32;

let shapeItems = 0;
let shapeSentences = 0;
let shapeNumbers = 0;

/**
 * The shape of the instruction ranges, whatever their words: enumerated items (lines opening with
 * "1." / "2)" / "-" / "*" / "•"), sentences, and numbers (quantities such as "3 options" or "under
 * 200 words" are requirements). Sets shapeItems / shapeSentences / shapeNumbers.
 */
function instructionShape(t: string, seg: Int32Array, count: number): void {
  shapeItems = 0;
  shapeSentences = 0;
  shapeNumbers = 0;
  let budget = MAX_GRAM_CHARS;
  for (let r = 0; r < count && budget > 0; r++) {
    const s = seg[r * 2]!;
    const e = Math.min(seg[r * 2 + 1]!, s + budget);
    budget -= e - s;
    let lineStart = true;
    let inSentence = false;
    let inNumber = false;
    for (let i = s; i < e; i++) {
      const c = t.charCodeAt(i);
      if (c === 10) {
        lineStart = true;
        if (inSentence) shapeSentences++;
        inSentence = false;
        inNumber = false;
        continue;
      }
      if (lineStart) {
        if (c === 32 || c === 9) continue;
        lineStart = false;
        const d = i + 1 < e ? t.charCodeAt(i + 1) : 0;
        if ((c === 45 || c === 42 || c === 0x2022) && d === 32) shapeItems++;
        else if (c >= 48 && c <= 57) {
          let k = i + 1;
          while (k < e && t.charCodeAt(k) >= 48 && t.charCodeAt(k) <= 57) k++;
          const p = k < e ? t.charCodeAt(k) : 0;
          if ((p === 46 || p === 41) && k + 1 < e && t.charCodeAt(k + 1) === 32) {
            shapeItems++;
            i = k;
            continue;
          }
        }
      }
      if (c >= 48 && c <= 57) {
        if (!inNumber) shapeNumbers++;
        inNumber = true;
      } else inNumber = c === 46 || c === 44 ? inNumber : false;
      if (c === 46 || c === 63 || c === 33) {
        const d = i + 1 < e ? t.charCodeAt(i + 1) : 32;
        if (inSentence && isSpace(d)) {
          shapeSentences++;
          inSentence = false;
        }
      } else if (c !== 32 && c !== 9 && c !== 13) inSentence = true;
    }
    if (inSentence) shapeSentences++;
  }
}

/**
 * Character 3- and 4-grams inside the words of the instruction ranges, a word boundary counting
 * as a character (" pro", "rove", "ove "), into the current namespace. Words are folded as for
 * word hashes; grams never span two words.
 */
function scanCharGrams(t: string, seg: Int32Array, count: number): void {
  const fold = FOLD_TABLE;
  let c1 = SPACE; // the previous three folded characters, most recent first
  let c2 = SPACE;
  let c3 = SPACE;
  let budget = MAX_GRAM_CHARS;
  for (let r = 0; r < count && budget > 0; r++) {
    const s = seg[r * 2]!;
    const e = Math.min(seg[r * 2 + 1]!, s + budget);
    budget -= e - s;
    for (let i = s; i <= e; i++) {
      const c = i < e ? t.charCodeAt(i) : SPACE;
      let f = SPACE;
      if (c < 0x250) {
        const x = fold[c]!;
        if (x !== 0) f = x;
      } else if (charClass(c) !== 0) f = c;
      if (f === SPACE && c1 === SPACE) continue;
      if (c1 !== SPACE) {
        let x = mix(Math.imul(Math.imul(Math.imul(GRAM_SEED3 ^ c2, FNV_MUL) ^ c1, FNV_MUL) ^ f, FNV_MUL));
        sink.add(x & mask, x < 0 ? -1 : 1);
        emitted++;
        if (c2 !== SPACE) {
          x = mix(Math.imul(Math.imul(Math.imul(Math.imul(GRAM_SEED4 ^ c3, FNV_MUL) ^ c2, FNV_MUL) ^ c1, FNV_MUL) ^ f, FNV_MUL));
          sink.add(x & mask, x < 0 ? -1 : 1);
          emitted++;
        }
      }
      c3 = c2;
      c2 = c1;
      c1 = f;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Segmentation: instruction vs material

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10 || c === 0xa0;
}

/** End (exclusive) of the first sentence of t[s, e). */
function firstSentenceEnd(t: string, s: number, e: number): number {
  const limit = Math.min(e, s + EDGE_SENTENCE);
  for (let i = s; i < limit; i++) {
    const c = t.charCodeAt(i);
    if (c === 10) return i;
    if ((c === 46 || c === 63 || c === 33 || c === 58) && (i + 1 >= e || isSpace(t.charCodeAt(i + 1)))) return i + 1;
  }
  if (limit >= e) return e;
  let i = limit;
  while (i > s && !isSpace(t.charCodeAt(i))) i--;
  return i > s ? i : limit;
}

/** Start of the last sentence of t[s, e). */
function lastSentenceStart(t: string, s: number, e: number): number {
  let i = e - 1;
  while (i > s && isSpace(t.charCodeAt(i))) i--;
  // skip the sentence's own closing punctuation
  while (i > s) {
    const c = t.charCodeAt(i);
    if (c === 46 || c === 63 || c === 33 || c === 34 || c === 41 || c === 0x201d || c === 58) i--;
    else break;
  }
  const limit = Math.max(s, i - EDGE_SENTENCE);
  let start = -1;
  for (; i > limit; i--) {
    const c = t.charCodeAt(i);
    if (c === 10 || ((c === 46 || c === 63 || c === 33) && isSpace(t.charCodeAt(i + 1)))) {
      start = i + 1;
      break;
    }
  }
  if (start < 0) {
    if (limit <= s) return s;
    start = i;
    while (start < e && !isSpace(t.charCodeAt(start))) start++;
  }
  while (start < e && isSpace(t.charCodeAt(start))) start++;
  return start;
}

function endsWith(t: string, s: number, e: number, ch: number): boolean {
  let i = e - 1;
  while (i >= s && isSpace(t.charCodeAt(i))) i--;
  return i >= s && t.charCodeAt(i) === ch;
}

function hasChar(t: string, s: number, e: number, ch: number): boolean {
  const i = t.indexOf(String.fromCharCode(ch), s);
  return i >= 0 && i < e;
}

/**
 * Splits t into instruction ranges then material ranges, written as [start, end) pairs into out;
 * sets segInstrCount / segMaterialCount.
 */
function segment(t: string, out: Int32Array): void {
  const n = t.length;
  segInstrCount = 0;
  segMaterialCount = 0;
  if (n === 0) return;
  if (n <= SHORT_PROSE && t.indexOf('```') < 0 && t.indexOf('~~~') < 0 && t.indexOf('\n>') < 0 && t.charCodeAt(0) !== 62) {
    out[0] = 0;
    out[1] = n;
    segInstrCount = 1;
    return;
  }
  // Paragraphs of prose: runs of non-blank lines outside fences and quotes.
  let paras = 0;
  let proseChars = 0;
  let paraStart = -1;
  let paraEnd = -1;
  let inFence = false;
  const closePara = () => {
    if (paraStart < 0) return;
    proseChars += paraEnd - paraStart;
    if (paras < MAX_PARAS) {
      paraBuf[paras * 2] = paraStart;
      paraBuf[paras * 2 + 1] = paraEnd;
      paras++;
    } else paraBuf[(MAX_PARAS - 1) * 2 + 1] = paraEnd; // merge the overflow into the last one
    paraStart = -1;
  };
  let i = 0;
  while (i < n) {
    let j = t.indexOf('\n', i);
    if (j < 0) j = n;
    let k = i;
    while (k < j && isSpace(t.charCodeAt(k))) k++;
    const c0 = k < j ? t.charCodeAt(k) : 0;
    const fence = j - k >= 3 && (c0 === 96 || c0 === 126) && t.charCodeAt(k + 1) === c0 && t.charCodeAt(k + 2) === c0;
    if (inFence) {
      if (fence) inFence = false;
    } else if (fence) {
      closePara();
      inFence = true;
    } else if (k === j || c0 === 62) {
      closePara(); // blank line, or a quoted line ("> …") which is material
    } else {
      if (paraStart < 0) paraStart = i;
      paraEnd = j;
    }
    i = j + 1;
  }
  closePara();

  // Instruction ranges, in text order.
  let ni = 0;
  const push = (s: number, e: number) => {
    if (e <= s) return;
    if (ni > 0 && s <= out[ni * 2 - 1]!) {
      if (e > out[ni * 2 - 1]!) out[ni * 2 - 1] = e;
      return;
    }
    if (ni >= MAX_RANGES / 2) return;
    out[ni * 2] = s;
    out[ni * 2 + 1] = e;
    ni++;
  };
  if (paras > 0) {
    if (proseChars <= SHORT_PROSE) {
      for (let p = 0; p < paras; p++) push(paraBuf[p * 2]!, paraBuf[p * 2 + 1]!);
    } else {
      const a0 = paraBuf[0]!;
      const a1 = paraBuf[1]!;
      const b0 = paraBuf[(paras - 1) * 2]!;
      const b1 = paraBuf[(paras - 1) * 2 + 1]!;
      const firstIntro = endsWith(t, a0, a1, 58) || endsWith(t, a0, a1, 63); // "…the text:" / "…?"
      push(a0, a1 - a0 <= EDGE_PARAGRAPH ? a1 : firstSentenceEnd(t, a0, a1));
      if (paras > 1) {
        const lastHasQ = hasChar(t, b0, b1, 63);
        if (b1 - b0 <= EDGE_PARAGRAPH && (!firstIntro || lastHasQ || b1 - b0 <= 160)) push(b0, b1);
        else if (!firstIntro || lastHasQ) push(lastSentenceStart(t, b0, b1), b1);
      } else if (a1 - a0 > EDGE_PARAGRAPH) {
        push(lastSentenceStart(t, a0, a1), a1);
      }
    }
  }
  segInstrCount = ni;
  // Material = the complement of the instruction ranges.
  let m = 0;
  let pos = 0;
  for (let r = 0; r <= ni; r++) {
    const s = r < ni ? out[r * 2]! : n;
    if (s > pos && m + ni < MAX_RANGES) {
      out[(ni + m) * 2] = pos;
      out[(ni + m) * 2 + 1] = s;
      m++;
    }
    if (r < ni) pos = out[r * 2 + 1]!;
  }
  segMaterialCount = m;
}

// ---------------------------------------------------------------------------------------------------
// Line statistics and token estimate

// ASCII character classes for the line scanner.
const K_LETTER = 1;
const K_DIGIT = 2;
const K_SPACE = 3;
const K_PIPE = 4;
const K_COMMA = 5;
const K_BACKSLASH = 6;
const K_DOLLAR = 7;
const K_OP = 8;
const K_SYMBOL = 9;
const ASCII_CLASS = (() => {
  const t = new Uint8Array(128);
  for (let c = 65; c <= 90; c++) t[c] = K_LETTER;
  for (let c = 97; c <= 122; c++) t[c] = K_LETTER;
  for (let c = 48; c <= 57; c++) t[c] = K_DIGIT;
  for (const c of [32, 9, 13]) t[c] = K_SPACE;
  t[124] = K_PIPE;
  t[44] = K_COMMA;
  t[92] = K_BACKSLASH;
  t[36] = K_DOLLAR;
  for (const ch of '=^+*<>') t[ch.charCodeAt(0)] = K_OP;
  for (const ch of '{}()[];_#@&%~`') t[ch.charCodeAt(0)] = K_SYMBOL;
  return t;
})();

/** The closest character before x (not before lineStart) that is not a blank; 0 if none. */
function previousNonSpace(t: string, x: number, lineStart: number): number {
  for (let p = x - 1; p >= lineStart; p--) {
    const c = t.charCodeAt(p);
    if (c !== 32 && c !== 9) return c;
  }
  return 0;
}

function isLetterOrDigit(c: number): boolean {
  return c < 128 && (ASCII_CLASS[c] === K_LETTER || ASCII_CLASS[c] === K_DIGIT);
}

/** Structure counts of t[0, min(len, budget)) into stats slot; returns the estimated tokens of all of t. */
function lineStats(t: string, budget: number, slot: number): number {
  const n = t.length;
  const end = Math.min(n, budget);
  const b = slot * NSTATS;
  let lines = 0;
  let codeLines = 0;
  let fences = 0;
  let quotes = 0;
  let bullets = 0;
  let numbered = 0;
  let pipeLines = 0;
  let csvLines = 0;
  let latex = 0;
  let dollars = 0;
  let mathSym = 0;
  let ops = 0;
  let digits = 0;
  let indented = 0;
  let currency = 0;
  // token estimate ingredients
  let accented = 0;
  let symbols = 0;
  let ideo = 0;
  let other = 0;
  let i = 0;
  while (i < end) {
    // Leading blanks, then the line's extent.
    let lead = 0;
    let k = i;
    for (; k < end; k++) {
      const c = t.charCodeAt(k);
      if (c === 32) lead++;
      else if (c === 9) lead += 4;
      else break;
    }
    let j = t.indexOf('\n', k);
    if (j < 0 || j > end) j = end;
    let last = j - 1;
    while (last >= k && isSpace(t.charCodeAt(last))) last--;
    if (last >= k) {
      lines++;
      const first = t.charCodeAt(k);
      const second = k + 1 < j ? t.charCodeAt(k + 1) : 0;
      const lastC = t.charCodeAt(last);
      const beforeLastC = last > k ? t.charCodeAt(last - 1) : 0;
      // ends like code: `;`, `{`, `}`, or `):` (Python def/if/for with a call)
      if (lastC === 59 || lastC === 123 || lastC === 125 || (lastC === 58 && beforeLastC === 41)) codeLines++;
      if (lead >= 2) indented++;
      if (first === 96 && second === 96) fences++;
      else if (first === 62) quotes++;
      else if ((first === 45 || first === 42 || first === 0x2022) && second === 32) bullets++;
      else if (first >= 48 && first <= 57) {
        // "1. " or "2) " opening a line
        let d = k + 1;
        while (d < j && t.charCodeAt(d) >= 48 && t.charCodeAt(d) <= 57) d++;
        const p = t.charCodeAt(d);
        if ((p === 46 || p === 41) && d + 1 < j && t.charCodeAt(d + 1) === 32) numbered++;
      }
      let pipes = 0;
      let commas = 0;
      let lineDigits = 0;
      for (let x = k; x <= last; x++) {
        const c = t.charCodeAt(x);
        if (c >= 97 && c <= 122) continue; // lower-case ASCII letter: the common case, nothing to count
        if (c < 128) {
          const cls = ASCII_CLASS[c];
          if (cls === K_LETTER || cls === K_SPACE) continue;
          if (cls === K_DIGIT) lineDigits++;
          else if (cls === K_COMMA) commas++;
          else if (cls === K_SYMBOL) symbols++;
          else if (cls === K_OP) {
            const p = previousNonSpace(t, x, k);
            if (isLetterOrDigit(p) || p === 41) ops++;
            symbols++;
          } else if (cls === K_PIPE) {
            pipes++;
            symbols++;
          } else if (cls === K_BACKSLASH) {
            const d = t.charCodeAt(x + 1);
            if (d < 128 && ASCII_CLASS[d] === K_LETTER) latex++;
            symbols++;
          } else if (cls === K_DOLLAR) {
            dollars++;
            const d = t.charCodeAt(x + 1);
            const p = previousNonSpace(t, x, k);
            if ((d >= 48 && d <= 57) || (p >= 48 && p <= 57)) currency++;
          }
        } else if (c < 0x250) {
          if (FOLD_TABLE[c] !== 0) accented++;
          else if (c === 0xa3 || c === 0xa5) currency++;
          else if (c === 0xb2 || c === 0xb3 || c === 0xbd || c === 0xb1 || c === 0xd7 || c === 0xf7) mathSym++;
        } else if (c === 0x20ac) {
          currency++;
          other++;
        } else if ((c >= 0x2200 && c <= 0x22ff) || (c >= 0x2190 && c <= 0x21ff) || (c >= 0x391 && c <= 0x3c9)) {
          mathSym++;
          other++;
        } else if (charClass(c) === 2) ideo++;
        else other++;
      }
      digits += lineDigits;
      if (pipes >= 2) pipeLines++;
      if (commas >= 2 && lineDigits >= 2) csvLines++;
    }
    i = j + 1;
  }
  stats[b + S_LINES] = stats[b + S_LINES]! + lines;
  stats[b + S_CODELINES] = stats[b + S_CODELINES]! + codeLines;
  stats[b + S_FENCES] = stats[b + S_FENCES]! + fences;
  stats[b + S_QUOTES] = stats[b + S_QUOTES]! + quotes;
  stats[b + S_BULLETS] = stats[b + S_BULLETS]! + bullets;
  stats[b + S_NUMBERED] = stats[b + S_NUMBERED]! + numbered;
  stats[b + S_PIPES] = stats[b + S_PIPES]! + pipeLines;
  stats[b + S_CSV] = stats[b + S_CSV]! + csvLines;
  stats[b + S_LATEX] = stats[b + S_LATEX]! + latex;
  stats[b + S_DOLLARS] = stats[b + S_DOLLARS]! + dollars;
  stats[b + S_MATHSYM] = stats[b + S_MATHSYM]! + mathSym;
  stats[b + S_OPS] = stats[b + S_OPS]! + ops;
  stats[b + S_DIGITS] = stats[b + S_DIGITS]! + digits;
  stats[b + S_CHARS] = stats[b + S_CHARS]! + end;
  stats[b + S_INDENTED] = stats[b + S_INDENTED]! + indented;
  stats[b + S_CURRENCY] = stats[b + S_CURRENCY]! + currency;
  // ≈ 4 characters per token for Latin-script prose; accented letters, code symbols, other
  // scripts and ideographs cost more. Extrapolated over the part not scanned.
  const scannedTokens = end * 0.25 + accented * 0.3 + symbols * 0.25 + other * 0.25 + ideo * 0.75;
  return end === n ? scannedTokens : end === 0 ? n / 4 : (scannedTokens * n) / end;
}

// ---------------------------------------------------------------------------------------------------
// Extraction

function logScale(x: number, max: number): number {
  return x <= 0 ? 0 : Math.min(1, Math.log2(1 + x) / max);
}

function countScale(x: number): number {
  return x <= 0 ? 0 : Math.min(1, (1 + Math.log2(x)) / 4);
}

function isJsonFormat(rf: unknown): boolean {
  if (rf === null || typeof rf !== 'object') return false;
  const type = (rf as { type?: unknown }).type;
  return type === 'json_object' || type === 'json_schema';
}

function scanRanges(t: string, seg: Int32Array, from: number, count: number, maxWords: number): number {
  let words = 0;
  for (let r = from; r < from + count && words < maxWords; r++) words += scanWords(t, seg[r * 2]!, seg[r * 2 + 1]!, maxWords - words);
  return words;
}

/** Extracts the features of one request into `into`, and reports the rest (a reused object). */
export function extract(req: ClassifyRequest, into: FeatureSink, opts: ExtractOptions): Extracted {
  sink = into;
  mask = opts.mask;
  emitted = 0;
  dense.fill(0);
  markerCounts.fill(0);
  qmarks.fill(0);
  commas.fill(0);
  firstThen.fill(0);
  langAcc.fill(0);
  stats.fill(0);
  sentenceCount = 0;
  qBits = 0;
  imagesSeen = 0;

  const msgs = Array.isArray(req.messages) ? req.messages : [];
  const nm = msgs.length;
  let lastUser = -1;
  let prevUser = -1;
  let userTurns = 0;
  let hasSystem = false;
  let hasAssistant = false;
  let toolsInChat = false;
  for (let i = nm - 1; i >= 0; i--) {
    const m = msgs[i];
    if (!m || typeof m !== 'object') continue;
    const role = m.role;
    if (role === 'user') {
      userTurns++;
      if (lastUser < 0) lastUser = i;
      else if (prevUser < 0) prevUser = i;
    } else if (role === 'system' || role === 'developer') hasSystem = true;
    else if (role === 'assistant') {
      hasAssistant = true;
      if ((m as { tool_calls?: unknown }).tool_calls !== undefined) toolsInChat = true;
    } else if (role === 'tool' || role === 'function') toolsInChat = true;
  }
  if (lastUser < 0) lastUser = nm - 1; // no user turn: treat the last message as the instruction

  // Last user turn: instruction, sentence starts, material.
  let tokens = 0;
  let instrWords = 0;
  let materialWords = 0;
  let lastLen = 0;
  let materialChars = 0;
  if (lastUser >= 0) {
    const t = contentText(msgs[lastUser]?.content);
    lastLen = t.length;
    segment(t, segLast);
    const ni = segInstrCount;
    const nmat = segMaterialCount;
    into.begin();
    setNamespace(NS_SEEDS.instruction, true, G_INSTR, 0);
    instrWords = scanRanges(t, segLast, 0, ni, MAX_INSTRUCTION_WORDS);
    endNamespace(SCALE_INSTR);
    into.begin();
    scanCharGrams(t, segLast, ni);
    instructionShape(t, segLast, ni);
    endNamespace(GRAM_SCALE);
    into.begin();
    for (let k = 0; k < sentenceCount; k++) {
      const x = mix(sentenceHashes[k]! ^ NS_SEEDS.sentenceStart);
      into.add(x & mask, x < 0 ? -1 : 1);
    }
    emitted = sentenceCount;
    endNamespace(SCALE_SENT);
    into.begin();
    setNamespace(NS_SEEDS.material, false, G_MATERIAL, 1);
    materialWords = scanRanges(t, segLast, ni, nmat, MAX_MATERIAL_WORDS);
    endNamespace(SCALE_MAT);
    for (let r = ni; r < ni + nmat; r++) materialChars += segLast[r * 2 + 1]! - segLast[r * 2]!;
    tokens += TOKENS_PER_MESSAGE + lineStats(t, LAST_TURN_SCAN_CHARS, 0);
  }

  // Previous user turn: its instruction in its own namespace, its material joins the context.
  let prevWords = 0;
  let ctxWords = 0;
  let prevText = '';
  into.begin();
  if (prevUser >= 0) {
    prevText = contentText(msgs[prevUser]?.content);
    segment(prevText, segPrev);
    setNamespace(NS_SEEDS.previous, true, G_PREVIOUS, 2);
    prevWords = scanRanges(prevText, segPrev, 0, segInstrCount, MAX_PREVIOUS_WORDS);
  }
  endNamespace(SCALE_PREV);
  const prevMaterialFrom = segInstrCount;
  const prevMaterialCount = prevUser >= 0 ? segMaterialCount : 0;

  // Everything else, most recent first, within the context budgets.
  into.begin();
  setNamespace(NS_SEEDS.context, false, G_CONTEXT, 3);
  if (prevMaterialCount > 0) ctxWords += scanRanges(prevText, segPrev, prevMaterialFrom, prevMaterialCount, MAX_CONTEXT_WORDS);
  let ctxBudget = CONTEXT_SCAN_CHARS;
  let systemText: string | undefined;
  for (let i = nm - 1; i >= 0; i--) {
    if (i === lastUser) continue;
    const m = msgs[i];
    if (!m || typeof m !== 'object') continue;
    const t = i === prevUser ? prevText : contentText(m.content);
    tokens += TOKENS_PER_MESSAGE + lineStats(t, ctxBudget, 1);
    ctxBudget = Math.max(0, ctxBudget - t.length);
    if (i === prevUser) continue;
    if (m.role === 'system' || m.role === 'developer') {
      if (systemText === undefined) systemText = t;
      continue;
    }
    if (ctxWords < MAX_CONTEXT_WORDS) {
      curLang = m.role === 'assistant' ? 4 : 3;
      ctxWords += scanWords(t, 0, t.length, MAX_CONTEXT_WORDS - ctxWords);
    }
  }
  endNamespace(SCALE_CTX);

  // System / developer message (the latest one).
  into.begin();
  if (systemText !== undefined) {
    setNamespace(NS_SEEDS.system, false, G_CONTEXT, 3);
    scanWords(systemText, 0, systemText.length, MAX_SYSTEM_WORDS);
  }
  endNamespace(SCALE_SYS);

  // Capabilities and size.
  const tools = (Array.isArray(req.tools) && req.tools.length > 0) || toolsInChat;
  const vision = imagesSeen > 0;
  const json = isJsonFormat(req.response_format);
  tokens += imagesSeen * TOKENS_PER_IMAGE;
  if (Array.isArray(req.tools) && req.tools.length > 0) tokens += jsonLength(req.tools) / 4;
  if (json && (req.response_format as { type?: unknown }).type === 'json_schema') tokens += jsonLength(req.response_format) / 4;
  const estimatedTokens = Math.ceil(tokens);
  const maxTokens = outputCap(req);
  const longContext = estimatedTokens + maxTokens >= opts.longContextTokens;

  // Language.
  let en = 0;
  let es = 0;
  let ot = 0;
  for (let r = 0; r < LANG_REGIONS; r++) {
    const a = langAcc[r * 3]!;
    const b = langAcc[r * 3 + 1]!;
    const c = langAcc[r * 3 + 2]!;
    const total = a + b + c;
    if (total === 0) continue;
    // A region's vote is its distribution, trusted more when it has more evidence (up to 4 hits).
    const w = (LANG_REGION_WEIGHT[r]! * Math.min(total, 4)) / 4 / total;
    en += a * w;
    es += b * w;
    ot += c * w;
  }
  const language: Language = en === 0 && es === 0 && ot === 0 ? 'other' : ot > en && ot > es ? 'other' : es > en ? 'es' : 'en';

  // Dense features.
  dense[D.bias] = 1;
  dense[language === 'en' ? D.lang_en : language === 'es' ? D.lang_es : D.lang_other] = 1;
  dense[userTurns <= 1 ? D.user_turns_1 : userTurns <= 3 ? D.user_turns_2_3 : D.user_turns_4plus] = 1;
  dense[D.has_system] = hasSystem ? 1 : 0;
  dense[D.has_assistant] = hasAssistant ? 1 : 0;
  dense[D.instr_words_log] = logScale(instrWords, 10);
  dense[D.instr_tiny] = instrWords <= 4 ? 1 : 0;
  dense[D.instr_short] = instrWords <= 12 ? 1 : 0;
  dense[D.instr_long] = instrWords >= 60 ? 1 : 0;
  dense[D.material_present] = materialWords > 0 ? 1 : 0;
  dense[D.material_words_log] = logScale(materialWords, 13);
  dense[D.material_share] = lastLen > 0 ? materialChars / lastLen : 0;
  dense[D.prev_words_log] = logScale(prevWords, 10);
  dense[D.ctx_words_log] = logScale(ctxWords, 12);
  dense[D.tokens_log] = logScale(estimatedTokens, 17);
  const L = 0;
  const C = NSTATS;
  const lastLines = Math.max(1, stats[L + S_LINES]!);
  const ctxLines = Math.max(1, stats[C + S_LINES]!);
  dense[D.fence_last] = stats[L + S_FENCES]! > 0 ? 1 : 0;
  dense[D.fence_ctx] = stats[C + S_FENCES]! > 0 ? 1 : 0;
  dense[D.code_lines_last] = stats[L + S_CODELINES]! / lastLines;
  dense[D.code_lines_ctx] = stats[C + S_CODELINES]! / ctxLines;
  dense[D.indented_last] = stats[L + S_INDENTED]! / lastLines;
  dense[D.latex_last] = countScale(stats[L + S_LATEX]! + (stats[L + S_DOLLARS]! >> 1));
  dense[D.latex_ctx] = countScale(stats[C + S_LATEX]! + (stats[C + S_DOLLARS]! >> 1));
  dense[D.math_symbols_last] = countScale(stats[L + S_MATHSYM]!);
  dense[D.math_ops_last] = countScale(stats[L + S_OPS]!);
  dense[D.math_ops_ctx] = countScale(stats[C + S_OPS]!);
  dense[D.digits_last] = Math.min(1, (5 * stats[L + S_DIGITS]!) / Math.max(1, stats[L + S_CHARS]!));
  dense[D.table_pipes_last] = countScale(stats[L + S_PIPES]!);
  dense[D.csv_lines_last] = countScale(stats[L + S_CSV]!);
  dense[D.csv_lines_ctx] = countScale(stats[C + S_CSV]!);
  dense[D.numbered_lines_last] = countScale(stats[L + S_NUMBERED]!);
  dense[D.bullet_lines_last] = countScale(stats[L + S_BULLETS]!);
  dense[D.quote_lines_last] = countScale(stats[L + S_QUOTES]!);
  dense[D.qmarks_instr] = Math.min(3, qmarks[G_INSTR]!) / 3;
  dense[D.qmarks_material] = countScale(qmarks[G_MATERIAL]!);
  dense[D.clauses_instr] = Math.min(8, commas[G_INSTR]!) / 8;
  dense[D.q_factoid] = qBits & QF ? 1 : 0;
  dense[D.q_explain] = qBits & QE ? 1 : 0;
  dense[D.q_yesno] = qBits & QY ? 1 : 0;
  dense[D.first_then_instr] = firstThen[G_INSTR]! > 0 ? 1 : 0;
  dense[D.first_then_prev] = firstThen[G_PREVIOUS]! > 0 ? 1 : 0;
  dense[D.short_followup] = instrWords <= 8 && prevUser >= 0 ? 1 : 0;
  dense[D.cap_tools] = tools ? 1 : 0;
  dense[D.cap_vision] = vision ? 1 : 0;
  dense[D.cap_json] = json ? 1 : 0;
  dense[D.max_tokens_small] = maxTokens > 0 && maxTokens <= 256 ? 1 : 0;
  dense[D.max_tokens_large] = maxTokens >= 4000 ? 1 : 0;
  dense[D.currency_last] = countScale(stats[L + S_CURRENCY]!);
  for (let g = 0; g < GROUPS; g++) {
    for (let k = 0; k < N_MARKERS; k++) {
      const c = markerCounts[g * N_MARKERS + k]!;
      dense[D_MARKERS + g * N_MARKERS + k] = g === G_INSTR ? Math.min(c, 4) / 4 : countScale(c);
    }
  }
  if (lastUser >= 0) {
    dense[D.instr_items] = countScale(shapeItems);
    dense[D.instr_sentences] = Math.min(8, shapeSentences) / 8;
    dense[D.instr_numbers] = countScale(shapeNumbers);
    // Separate asks: task verbs, requirement words and questions of the instruction together.
    const mi = G_INSTR * N_MARKERS;
    const asks = markerCounts[mi + M_TASKVERB]! + markerCounts[mi + M_REQUIREMENT]! + markerCounts[mi + M_CONSTRAINT]! + qmarks[G_INSTR]! + shapeItems;
    dense[D.instr_asks] = Math.min(12, asks) / 12;
  }
  let domainMarkers = 0;
  for (const k of DOMAIN_MARKER_INDEX) domainMarkers += markerCounts[G_INSTR * N_MARKERS + k]! + markerCounts[G_PREVIOUS * N_MARKERS + k]!;
  dense[D.no_domain_marker] = domainMarkers === 0 ? 1 : 0;
  if (dense[D.short_followup] === 1) {
    for (let k = 0; k < N_MARKERS; k++) dense[D_INHERITED + k] = dense[D_MARKERS + G_PREVIOUS * N_MARKERS + k]!;
  }

  result.language = language;
  result.estimatedTokens = estimatedTokens;
  result.tools = tools;
  result.vision = vision;
  result.json = json;
  result.longContext = longContext;
  return result;
}

function outputCap(req: ClassifyRequest): number {
  const r = req as { max_tokens?: unknown; max_completion_tokens?: unknown };
  const v = typeof r.max_completion_tokens === 'number' ? r.max_completion_tokens : r.max_tokens;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

function jsonLength(v: unknown): number {
  try {
    return JSON.stringify(v)?.length ?? 0;
  } catch {
    return 0;
  }
}

/** For tests and debugging: the instruction and material of a text as the segmenter sees them. */
export function segmentText(t: string): { instruction: string[]; material: string[] } {
  segment(t, segLast);
  const instruction: string[] = [];
  const material: string[] = [];
  for (let r = 0; r < segInstrCount; r++) instruction.push(t.slice(segLast[r * 2], segLast[r * 2 + 1]));
  for (let r = segInstrCount; r < segInstrCount + segMaterialCount; r++) material.push(t.slice(segLast[r * 2], segLast[r * 2 + 1]));
  return { instruction, material };
}

/** For tests and debugging: the dense features of a request by name (non-zero only), and the rest. */
export function describeFeatures(
  req: ClassifyRequest,
  longContextTokens = DEFAULT_LONG_CONTEXT_TOKENS,
): Omit<Extracted, 'dense'> & { dense: Record<string, number>; hashedFeatures: number } {
  let count = 0;
  const counter: FeatureSink = { begin() {}, add() {}, end() {} };
  counter.add = () => {
    count++;
  };
  const x = extract(req, counter, { mask: 0xffff, longContextTokens });
  const named: Record<string, number> = {};
  DENSE_NAMES.forEach((name, i) => {
    if (x.dense[i] !== 0) named[name] = x.dense[i]!;
  });
  return { ...x, dense: named, hashedFeatures: count };
}

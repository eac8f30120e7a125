/**
 * Character folding and hashing shared by the feature extractor, the lexicon and training.
 *
 * Words are hashed straight from the source string, one character at a time (no substrings, no
 * lower-casing copies): each character is folded (lower case, accents removed, every digit → '0',
 * ñ kept as ñ) and fed to 32-bit FNV-1a. Feature buckets come from a murmur3 finaliser of the word
 * hash mixed with a per-namespace seed; the top bit of the same mix is the feature's sign
 * ("signed hashing", so colliding features tend to cancel rather than add up).
 */

export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/** Fold table for U+0000..U+024F: 0 = not part of a word, else the folded code. */
export const FOLD = buildFoldTable();

function buildFoldTable(): Uint16Array {
  const t = new Uint16Array(0x250);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 0x30; // digits → '0'
  for (let c = 0x41; c <= 0x5a; c++) t[c] = c + 32;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = c;
  t[0x5f] = 0x5f; // '_' joins identifiers
  for (let c = 0xc0; c < 0x250; c++) {
    if (c === 0xd7 || c === 0xf7) continue; // × ÷
    const ch = String.fromCharCode(c);
    const base = ch.normalize('NFD').charAt(0).toLowerCase();
    const lower = ch.toLowerCase();
    if (lower === 'ñ') t[c] = 0xf1;
    else if (/^[a-z]$/.test(base)) t[c] = base.charCodeAt(0);
    else if (lower !== ch.toUpperCase()) t[c] = lower.charCodeAt(0); // other Latin letters (ß, ø, æ…)
  }
  return t;
}

/** Character classes above U+024F that matter to the extractor (see highClass). */
export const HIGH_SEPARATOR = 0;
/** A letter of a non-Latin alphabet (Greek, Cyrillic, Arabic, Hebrew, Indic, Thai): part of a word. */
export const HIGH_LETTER = 1;
/** Han, kana, Hangul: each character is a word of its own. */
export const HIGH_IDEOGRAPH = 2;

export function highClass(c: number): number {
  if (c >= 0x3040 && c <= 0x9fff) return HIGH_IDEOGRAPH;
  if (c >= 0xac00 && c <= 0xd7af) return HIGH_IDEOGRAPH;
  if (c >= 0x370 && c <= 0x3ff) return HIGH_LETTER; // Greek (also math symbols: counted separately)
  if (c >= 0x400 && c <= 0x52f) return HIGH_LETTER; // Cyrillic
  if (c >= 0x590 && c <= 0x6ff) return HIGH_LETTER; // Hebrew, Arabic
  if (c >= 0x900 && c <= 0xdff) return HIGH_LETTER; // Indic scripts
  if (c >= 0xe00 && c <= 0xe7f) return HIGH_LETTER; // Thai
  return HIGH_SEPARATOR;
}

/** murmur3 fmix32: a cheap, well-mixed 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Hash of a folded word, as the extractor computes it while scanning. */
export function wordHash(word: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    const f = c < 0x250 ? (FOLD[c] ?? 0) : highClass(c) !== HIGH_SEPARATOR ? c : 0;
    if (f === 0) throw new Error(`wordHash: "${word}" contains a separator at ${i}`);
    h = Math.imul(h ^ f, FNV_PRIME);
  }
  return h;
}

/** Hash of an ordered word pair (bigrams, and bigram lexicon entries). */
export function pairHash(prev: number, next: number): number {
  return (Math.imul(prev, 0x9e3779b1) ^ next) | 0;
}

/** Seeds of the hashed-feature namespaces (the same word in two namespaces is two features). */
export const NS_SEEDS = {
  /** Last user turn: the instruction (uni- and bigrams). */
  instruction: 0x1b873593,
  /** First word and first bigram of each sentence of the instruction. */
  sentenceStart: 0x5bd1e995,
  /** Last user turn: pasted material (unigrams). */
  material: 0x27d4eb2f,
  /** The previous user turn's instruction (uni- and bigrams). */
  previous: 0x165667b1,
  /** Everything else said earlier: assistant turns, older user turns, tool results (unigrams). */
  context: 0x61c88647,
  /** System / developer messages (unigrams). */
  system: 0x7feb352d,
  /** Character 3- and 4-grams of the folded instruction (language-robust stems and cognates). */
  charGrams: 0x3c6ef372,
} as const;

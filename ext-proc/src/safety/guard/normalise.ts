/**
 * Text normalisation for the prompt-injection guard: the many spellings of one attack become one
 * string before any feature is taken from it.
 *
 *   - Unicode NFKC (full-width letters, mathematical alphanumerics, ligatures → plain letters);
 *     skipped for pure-ASCII text, which it would not change;
 *   - invisible characters removed and counted: zero-width spaces and joiners, word joiner, BOM,
 *     soft hyphen, bidi controls, variation selectors; Unicode "tag" characters (U+E0020–E007E,
 *     used to smuggle ASCII past a reader) are decoded to the ASCII they stand for;
 *   - lower case, Latin accents removed (ñ → n), typographic quotes and dashes made ASCII;
 *   - Cyrillic and Greek look-alikes folded to Latin (а → a, ο → o, ...), counted when they sit in
 *     a word with Latin letters (a mixed-script word is a disguise, not Russian);
 *   - letters spelled out with one separator between them (`i g n o r e`, `y-o-u`) joined;
 *   - leetspeak folded inside words (`1gn0r3` → ignore, `pr0mpt` → prompt), but not in technical
 *     tokens (`gpt4`, `base64`, `x86`, `sha256` stay as they are);
 *   - runs of blanks collapsed to one space; line breaks kept (role markers start lines).
 *
 * One pass per step over a reusable code-unit buffer; the result is one string.
 */

/** Bump when normalisation changes what a text becomes: weights trained before must be retrained. */
export const NORMALISER_VERSION = 2;

export interface NormalisedText {
  text: string;
  /** Invisible characters removed (zero-width, bidi controls, soft hyphens, ...). */
  invisible: number;
  /** Unicode tag characters decoded to ASCII. */
  tagChars: number;
  /** Look-alike letters folded inside mixed-script words. */
  homoglyphs: number;
  /** Leetspeak characters folded to letters. */
  leet: number;
  /** Runs of spelled-out letters joined back into words. */
  spaced: number;
}

/** Latin-1 and Latin Extended-A/B (U+0080..U+024F): lower case without accents, or 0 = keep as is. */
const LATIN_FOLD = buildLatinFold();

function buildLatinFold(): Uint16Array {
  const t = new Uint16Array(0x250);
  for (let c = 0xc0; c < 0x250; c++) {
    if (c === 0xd7 || c === 0xf7) continue;
    const ch = String.fromCharCode(c);
    const base = ch.normalize('NFD').charAt(0).toLowerCase();
    if (/^[a-z]$/.test(base)) t[c] = base.charCodeAt(0);
    else if (ch.toLowerCase() !== ch.toUpperCase()) t[c] = ch.toLowerCase().charCodeAt(0);
  }
  t[0xdf] = 0x73; // ß → s
  t[0xe6] = 0x61; // æ → a
  t[0xc6] = 0x61;
  t[0xf8] = 0x6f; // ø → o
  t[0xd8] = 0x6f;
  t[0xa0] = 0x20; // no-break space
  for (const c of [0xa1, 0xbf]) t[c] = 0x20; // ¡ ¿ → space
  t[0xab] = 0x22; // « » → "
  t[0xbb] = 0x22;
  return t;
}

/** Cyrillic and Greek letters that look like Latin ones. */
const HOMOGLYPHS: ReadonlyMap<number, number> = new Map(
  [
    // Cyrillic lower
    ['а', 'a'],
    ['в', 'b'],
    ['е', 'e'],
    ['ё', 'e'],
    ['к', 'k'],
    ['м', 'm'],
    ['н', 'h'],
    ['о', 'o'],
    ['р', 'p'],
    ['с', 'c'],
    ['т', 't'],
    ['у', 'y'],
    ['х', 'x'],
    ['і', 'i'],
    ['ї', 'i'],
    ['ј', 'j'],
    ['ѕ', 's'],
    ['ԁ', 'd'],
    ['ԛ', 'q'],
    ['ԝ', 'w'],
    ['һ', 'h'],
    ['ӏ', 'l'],
    // Cyrillic upper
    ['А', 'a'],
    ['В', 'b'],
    ['Е', 'e'],
    ['К', 'k'],
    ['М', 'm'],
    ['Н', 'h'],
    ['О', 'o'],
    ['Р', 'p'],
    ['С', 'c'],
    ['Т', 't'],
    ['У', 'y'],
    ['Х', 'x'],
    ['І', 'i'],
    ['Ј', 'j'],
    ['Ѕ', 's'],
    // Greek
    ['α', 'a'],
    ['β', 'b'],
    ['ε', 'e'],
    ['ι', 'i'],
    ['κ', 'k'],
    ['ν', 'v'],
    ['ο', 'o'],
    ['ρ', 'p'],
    ['τ', 't'],
    ['υ', 'u'],
    ['χ', 'x'],
    ['Α', 'a'],
    ['Β', 'b'],
    ['Ε', 'e'],
    ['Ζ', 'z'],
    ['Η', 'h'],
    ['Ι', 'i'],
    ['Κ', 'k'],
    ['Μ', 'm'],
    ['Ν', 'n'],
    ['Ο', 'o'],
    ['Ρ', 'p'],
    ['Τ', 't'],
    ['Υ', 'y'],
    ['Χ', 'x'],
    // Latin letters outside the fold table's range that pass for ASCII ones
    ['ɡ', 'g'],
    ['ɑ', 'a'],
    ['ı', 'i'],
  ].map(([from, to]) => [from!.charCodeAt(0), to!.charCodeAt(0)]),
);

/** Characters that render as nothing (or only steer rendering): removed. */
function isInvisible(c: number): boolean {
  return (
    c === 0xad || // soft hyphen
    c === 0x34f || // combining grapheme joiner
    c === 0x61c || // Arabic letter mark
    c === 0x180e || // Mongolian vowel separator
    (c >= 0x200b && c <= 0x200f) || // zero-width space/non-joiner/joiner, LRM, RLM
    (c >= 0x202a && c <= 0x202e) || // bidi embeddings and overrides
    (c >= 0x2060 && c <= 0x2064) || // word joiner, invisible operators
    (c >= 0x2066 && c <= 0x206f) || // bidi isolates, deprecated format characters
    c === 0xfeff || // BOM / zero-width no-break space
    (c >= 0xfe00 && c <= 0xfe0f) // variation selectors
  );
}

/** Typographic punctuation → ASCII. */
function punctuation(c: number): number {
  if (c === 0x2018 || c === 0x2019 || c === 0x201a || c === 0x2032) return 0x27; // ’ → '
  if (c === 0x201c || c === 0x201d || c === 0x201e || c === 0x2033) return 0x22; // ” → "
  if (c >= 0x2010 && c <= 0x2015) return 0x2d; // dashes → -
  if (c === 0x2026) return 0x2e; // … → .
  if (c === 0x3000 || (c >= 0x2000 && c <= 0x200a) || c === 0x202f || c === 0x205f) return 0x20;
  return 0;
}

/** Character classes of folded codes (what the passes after the first one see). */
const LETTER = 1;
const DIGIT = 2;
/** `@ $ ! |`: symbols leetspeak uses for letters. */
const LEET_SYMBOL = 4;
/** Separators of spelled-out letters: space - . _ * | / */
const SPELL_SEPARATOR = 8;
const CLASS = buildClasses();

function buildClasses(): Uint8Array {
  const t = new Uint8Array(0x10000);
  for (let c = 0x61; c <= 0x7a; c++) t[c] = LETTER;
  for (let c = 0xe0; c < 0x250; c++) t[c] = LETTER;
  for (let c = 0x370; c < 0x2000; c++) t[c] = LETTER;
  for (let c = 0x3040; c < 0xd800; c++) t[c] = LETTER;
  for (let c = 0x30; c <= 0x39; c++) t[c] = DIGIT;
  for (const ch of '@$!|') t[ch.charCodeAt(0)] = t[ch.charCodeAt(0)]! | LEET_SYMBOL;
  for (const ch of ' -._*|/') t[ch.charCodeAt(0)] = t[ch.charCodeAt(0)]! | SPELL_SEPARATOR;
  return t;
}

const isLetter = (c: number): boolean => (CLASS[c]! & LETTER) !== 0;
const isAlnum = (c: number): boolean => (CLASS[c]! & (LETTER | DIGIT)) !== 0;
const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a;

/** Leetspeak character → the letter it stands for (0 = not one). */
const LEET = new Uint8Array(128);
for (const [from, to] of [
  ['0', 'o'],
  ['1', 'i'],
  ['3', 'e'],
  ['4', 'a'],
  ['5', 's'],
  ['7', 't'],
  ['8', 'b'],
  ['@', 'a'],
  ['$', 's'],
  ['!', 'i'],
  ['|', 'l'],
] as const)
  LEET[from.charCodeAt(0)] = to.charCodeAt(0);
/** Digits that never stand for letters: a token holding one is technical (h264, x86_64, base64). */
const isPlainDigit = (c: number): boolean => c === 0x32 || c === 0x36 || c === 0x39;

/** ASCII: the folded code, and flags for the first pass (what a character may start). */
const ASCII_LOWER = new Uint8Array(128);
const ASCII_FLAGS = new Uint8Array(128);
/** Flags of the first pass: a letter; a digit or leet symbol; a spelling separator; a base64 character. */
const F_LETTER = 1;
const F_LEETY = 2;
const F_SEP = 4;
const F_B64 = 8;
for (let c = 0; c < 128; c++) {
  const lower = c >= 0x41 && c <= 0x5a ? c + 32 : c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c ? 0x20 : c;
  ASCII_LOWER[c] = lower;
  let f = 0;
  const k = CLASS[lower]!;
  if ((k & LETTER) !== 0) f |= F_LETTER;
  if ((k & (DIGIT | LEET_SYMBOL)) !== 0) f |= F_LEETY;
  if ((k & SPELL_SEPARATOR) !== 0) f |= F_SEP;
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f) f |= F_B64;
  ASCII_FLAGS[c] = f;
}
/** Shortest base64 run worth decoding. */
const BASE64_MIN = 24;

/** The normalised text as code units (a view of the normaliser's buffer, valid until its next call) and as a string. */
export interface NormalisedCodes extends NormalisedText {
  codes: Uint16Array;
  /** The source after NFKC (base64 blob positions refer to it). */
  source: string;
  /**
   * Runs of 24+ base64 characters that look encoded (upper and lower case, and some capitals or
   * digits: not a long word, not a hex digest), as [start, end) pairs in `source`.
   */
  blobs: number[];
}

/** Reusable buffers: normalisation allocates only its result string. */
export class Normaliser {
  private a = new Uint16Array(8192);
  private b = new Uint16Array(8192);
  private leetHint = false;
  private spellHint = false;

  normalise(raw: string): NormalisedCodes {
    const out: NormalisedCodes = {
      text: '',
      invisible: 0,
      tagChars: 0,
      homoglyphs: 0,
      leet: 0,
      spaced: 0,
      codes: this.b,
      source: raw,
      blobs: [],
    };
    if (this.a.length < raw.length + 1) this.grow(raw.length);
    // NFKC changes nothing in ASCII, and in Latin-1 and typographic punctuation nothing the fold
    // does not do itself: the fold stops at the first other character, and starts again on NFKC.
    let n = this.fold(raw, out, true);
    if (n < 0) {
      const src = raw.normalize('NFKC');
      if (this.a.length < src.length + 1) this.grow(src.length);
      out.source = src;
      out.invisible = 0;
      out.tagChars = 0;
      out.homoglyphs = 0;
      out.blobs = [];
      n = this.fold(src, out, false);
    }
    let cur = this.a;
    let other = this.b;
    if (this.spellHint) {
      n = this.joinSpelled(cur, other, n, out);
      const t = cur;
      cur = other;
      other = t;
    }
    n = this.collapse(cur, other, n);
    if (this.leetHint) out.leet = this.foldLeet(other, n);
    out.codes = other.subarray(0, n);
    out.text = Buffer.from(other.buffer, other.byteOffset, n * 2).toString('utf16le');
    return out;
  }

  private grow(length: number): void {
    this.a = new Uint16Array(length + 1024);
    this.b = new Uint16Array(length + 1024);
  }

  /**
   * src → a: case, accents, invisible characters, tag characters, look-alikes, punctuation; on
   * the way, the base64 blobs, and whether the later passes have anything to do. Returns the
   * length, or -1 when `untilNfkc` and a character NFKC could change turns up.
   */
  private fold(src: string, out: NormalisedCodes, untilNfkc: boolean): number {
    const a = this.a;
    let n = 0;
    // Leetspeak: a letter next to a digit or a leet symbol (bit 2 of `adjacent`).
    let adjacent = 0;
    let prevFlags = 0;
    let spellHint = false;
    let run = 0;
    const len = src.length;
    for (let i = 0; i < len; i++) {
      const c = src.charCodeAt(i);
      if (c < 0x80) {
        const f = ASCII_FLAGS[c]!;
        a[n++] = ASCII_LOWER[c]!;
        adjacent |= ((f << 1) & prevFlags) | ((prevFlags << 1) & f);
        prevFlags = f;
        if ((f & F_B64) !== 0) {
          if (++run === BASE64_MIN) out.blobs.push(i + 1 - BASE64_MIN);
        } else run = 0;
        if ((f & F_SEP) !== 0 && n >= 4) {
          // "x s y s": two single characters, each followed by the same separator.
          const s = a[n - 1]!;
          if (a[n - 3] === s && isAlnum(a[n - 2]!) && isAlnum(a[n - 4]!) && (n === 4 || !isAlnum(a[n - 5]!))) spellHint = true;
        }
        continue;
      }
      run = 0;
      prevFlags = 0;
      if (untilNfkc && c > 0xff && (c < 0x2010 || c > 0x2027)) return -1;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
        const lo = src.charCodeAt(i + 1);
        const cp = ((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
        i++;
        if (cp >= 0xe0000 && cp <= 0xe007f) {
          // Tag characters: invisible ASCII. Decode the printable ones, drop the rest.
          out.tagChars++;
          const ascii = cp - 0xe0000;
          if (ascii >= 0x20 && ascii < 0x7f) a[n++] = ASCII_LOWER[ascii]!;
          continue;
        }
        if (cp >= 0xe0100 && cp <= 0xe01ef) {
          out.invisible++; // variation selectors supplement
          continue;
        }
        a[n++] = c;
        a[n++] = lo;
        continue;
      }
      if (isInvisible(c)) {
        out.invisible++;
        continue;
      }
      if (c < 0x250) {
        const f = LATIN_FOLD[c]!;
        a[n++] = f === 0 ? c : f;
        continue;
      }
      const h = HOMOGLYPHS.get(c);
      if (h !== undefined) {
        const prev = n > 0 ? a[n - 1]! : 0;
        const next = i + 1 < len ? src.charCodeAt(i + 1) | 0x20 : 0;
        if (isLower(prev) || isLower(next)) out.homoglyphs++;
        a[n++] = h;
        continue;
      }
      const p = punctuation(c);
      if (p !== 0) {
        a[n++] = p;
        continue;
      }
      a[n++] = c >= 0x370 && c < 0x2000 ? String.fromCharCode(c).toLowerCase().charCodeAt(0) : c;
    }
    if (out.blobs.length > 0) out.blobs = encodedRuns(src, out.blobs);
    this.leetHint = (adjacent & 2) !== 0;
    this.spellHint = spellHint;
    return n;
  }

  /**
   * from → to: joins runs of three or more single letters separated by one and the same
   * separator (`i g n o r e`, `y-o-u`, `s.y.s.t.e.m`). A wider gap (two spaces) ends the run: it
   * is the space between the spelled-out words.
   */
  private joinSpelled(from: Uint16Array, to: Uint16Array, n: number, out: NormalisedText): number {
    let m = 0;
    let i = 0;
    while (i < n) {
      const c = from[i]!;
      const single = isAlnum(c) && (i === 0 || !isAlnum(from[i - 1]!)) && i + 1 < n && (CLASS[from[i + 1]!]! & SPELL_SEPARATOR) !== 0;
      if (single) {
        const sep = from[i + 1]!;
        // The run: letter, sep, letter, sep, ... each letter standing alone.
        let j = i;
        let letters = 0;
        let last = i;
        for (;;) {
          if (!isAlnum(from[j]!) || (j + 1 < n && isAlnum(from[j + 1]!))) break;
          letters++;
          last = j;
          if (j + 2 < n && from[j + 1] === sep && isAlnum(from[j + 2]!)) j += 2;
          else break;
        }
        if (letters >= 3) {
          for (let k = i; k <= last; k += 2) to[m++] = from[k]!;
          out.spaced++;
          i = last + 1;
          continue;
        }
      }
      to[m++] = c;
      i++;
    }
    return m;
  }

  /** from → to: runs of spaces become one; spaces around a line break go; at most one blank line. */
  private collapse(from: Uint16Array, to: Uint16Array, n: number): number {
    let m = 0;
    for (let i = 0; i < n; i++) {
      const c = from[i]!;
      if (c === 0x20) {
        if (m === 0 || to[m - 1] === 0x20 || to[m - 1] === 0x0a) continue;
      } else if (c === 0x0a) {
        while (m > 0 && to[m - 1] === 0x20) m--;
        if (m > 1 && to[m - 1] === 0x0a && to[m - 2] === 0x0a) continue;
      }
      to[m++] = c;
    }
    while (m > 0 && (to[m - 1] === 0x20 || to[m - 1] === 0x0a)) m--;
    return m;
  }

  /** Leetspeak inside words, in place; returns the characters folded. */
  private foldLeet(a: Uint16Array, n: number): number {
    let folded = 0;
    let i = 0;
    while (i < n) {
      const k = CLASS[a[i]!]!;
      if ((k & (LETTER | DIGIT | LEET_SYMBOL)) === 0) {
        i++;
        continue;
      }
      // A token: letters, digits and leet symbols.
      let j = i;
      let letters = 0;
      let plain = false;
      let at = false;
      while (j < n) {
        const d = a[j]!;
        const kd = CLASS[d]!;
        if ((kd & LETTER) !== 0) letters++;
        else if ((kd & DIGIT) !== 0) plain ||= isPlainDigit(d);
        else if ((kd & LEET_SYMBOL) !== 0) at ||= d === 0x40;
        else break;
        j++;
      }
      // An e-mail address's `@` is not a letter.
      const email = at && j < n && a[j] === 0x2e;
      if (letters >= 2 && !plain && !email && j - i > letters) folded += this.foldToken(a, i, j);
      i = j;
    }
    return folded;
  }

  /**
   * Folds leet runs inside a[i, j): a run between two letters always, and digits opening the
   * token (`4ll`); a run closing it only when the token also has an inner one (`1gn0r3`, not
   * `gpt4` or `mp3`). The symbols `@ $ ! |` only between letters.
   */
  private foldToken(a: Uint16Array, i: number, j: number): number {
    let end = j;
    while (end > i && (CLASS[a[end - 1]!]! & LEET_SYMBOL) !== 0) end--;
    let inner = 0;
    for (let k = i; k < end; ) {
      if (isLetter(a[k]!)) {
        k++;
        continue;
      }
      let r = k;
      while (r < end && !isLetter(a[r]!)) r++;
      if (k > i && r < end) inner++;
      k = r;
    }
    let folded = 0;
    for (let k = i; k < end; ) {
      if (isLetter(a[k]!)) {
        k++;
        continue;
      }
      let r = k;
      while (r < end && !isLetter(a[r]!)) r++;
      const between = k > i && r < end;
      if (between || k === i || inner > 0) {
        for (let q = k; q < r; q++) {
          // Symbols only between letters (`p@ss`), never at a word's edge (`<|im_start|>`, `$HOME`).
          const f = a[q]! < 128 && (between || (CLASS[a[q]!]! & DIGIT) !== 0) ? LEET[a[q]!]! : 0;
          if (f !== 0) {
            a[q] = f;
            folded++;
          }
        }
      }
      k = r;
    }
    return folded;
  }
}

/**
 * From the starts of 24-character base64 runs, the whole runs that look encoded (upper and lower
 * case, and some capitals or digits), as [start, end) pairs.
 */
function encodedRuns(src: string, starts: readonly number[]): number[] {
  const out: number[] = [];
  for (const start of starts) {
    let upper = 0;
    let lower = 0;
    let digit = 0;
    let i = start;
    for (; i < src.length; i++) {
      const c = src.charCodeAt(i);
      if (c >= 0x80 || (ASCII_FLAGS[c]! & F_B64) === 0) break;
      if (c <= 0x39) digit += c >= 0x30 ? 1 : 0;
      else if (c <= 0x5a) upper++;
      else lower++;
    }
    if (upper > 0 && lower > 0 && upper + digit >= 3) out.push(start, i);
  }
  return out;
}

const shared = new Normaliser();

/** Normalises one text with a module-wide buffer (the hot path is synchronous: one call at a time). */
export function normaliseText(raw: string): NormalisedText {
  const r = shared.normalise(raw);
  return { text: r.text, invisible: r.invisible, tagChars: r.tagChars, homoglyphs: r.homoglyphs, leet: r.leet, spaced: r.spaced };
}

/*
 * Putting the values back into an answer: placeholders the call's redaction made are replaced by
 * the values they stand for; anything else that looks like one (the model invented `<EMAIL_9>`,
 * or the caller wrote one) stays as it is.
 */

/** Placeholder → original value, for one call. */
export type Originals = ReadonlyMap<string, string>;

const PLACEHOLDER = /<(?:EMAIL|PHONE|CARD|IBAN|DNI|NIE|SSN|IP)_\d{1,6}>/g;
/** In JSON text, also as Go's encoder writes `<` and `>` (`\u003c`, `\u003e`). */
const JSON_PLACEHOLDER = /(?:<|\\u003[cC])((?:EMAIL|PHONE|CARD|IBAN|DNI|NIE|SSN|IP)_\d{1,6})(?:>|\\u003[eE])/g;
/** What a placeholder cut short at the end of a piece of text can look like. */
const PARTIAL = /<(?:[A-Z]{1,5}(?:_\d{0,6})?)?$/;
const LABELS = ['EMAIL', 'PHONE', 'CARD', 'IBAN', 'DNI', 'NIE', 'SSN', 'IP'];

/** `text` with the call's placeholders replaced by their values. */
export function restoreText(text: string, originals: Originals): string {
  if (originals.size === 0 || !text.includes('<')) return text;
  return text.replace(PLACEHOLDER, (p) => originals.get(p) ?? p);
}

/** The same inside JSON text (a whole answer body, tool-call arguments): values are escaped as JSON string content. */
export function restoreJsonText(json: string, originals: Originals): string {
  if (originals.size === 0) return json;
  return json.replace(JSON_PLACEHOLDER, (whole, inner: string) => {
    const value = originals.get(`<${inner}>`);
    return value === undefined ? whole : JSON.stringify(value).slice(1, -1);
  });
}

/**
 * Restores a text that arrives in pieces (a stream's deltas). A placeholder may be cut anywhere
 * between pieces, so the end of a piece that could be the start of one is held back until the
 * next piece says what it is; nothing else is held.
 */
export class PlaceholderStream {
  private held = '';

  constructor(
    private readonly originals: Originals,
    private readonly restore: (text: string, originals: Originals) => string = restoreText,
  ) {}

  /** The restored text that can go out now (possibly empty). */
  push(piece: string): string {
    const text = this.held + piece;
    const cut = partialStart(text);
    this.held = text.slice(cut);
    return this.restore(text.slice(0, cut), this.originals);
  }

  /** Whatever was held: the text ended, so it was not a placeholder after all. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  get holding(): boolean {
    return this.held !== '';
  }
}

/** Where a possible unfinished placeholder starts at the end of `text` (text.length if none). */
function partialStart(text: string): number {
  const lt = text.lastIndexOf('<');
  if (lt === -1) return text.length;
  const m = PARTIAL.exec(text.slice(lt));
  if (!m) return text.length;
  const letters = m[0].slice(1).split('_')[0]!;
  const complete = m[0].includes('_');
  const viable = complete ? LABELS.includes(letters) : LABELS.some((l) => l.startsWith(letters));
  return viable ? lt : text.length;
}

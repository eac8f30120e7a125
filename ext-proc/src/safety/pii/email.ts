import type { Finding } from './types.js';

/** Local parts may hold any letter (RFC 6531): `josé.pérez@…`. */
const LOCAL_CHAR = /[\p{L}\p{N}._%+-]/u;
/** The domain after the `@`: labels, then a letters-only top-level domain not followed by more name. */
const DOMAIN = /(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![A-Za-z0-9-]|\.[A-Za-z0-9])/y;
/** File names like `icon@2x.png` have the shape of an address. */
const FILE_EXTENSIONS = new Set('png jpg jpeg gif svg webp bmp ico tiff js ts css json html txt yaml yml lock'.split(' '));

/**
 * E-mail addresses, found from each `@` outwards (a regex scanning every word start for a local
 * part costs far more on long prompts).
 */
export function findEmails(text: string): Finding[] {
  const out: Finding[] = [];
  let from = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', from)) {
    from = at + 1;
    let start = at;
    while (start > 0 && at - start < 64 && LOCAL_CHAR.test(text[start - 1]!)) start--;
    while (start < at && (text[start] === '.' || text[start] === '-')) start++;
    if (start === at) continue;
    DOMAIN.lastIndex = at + 1;
    const m = DOMAIN.exec(text);
    if (!m) continue;
    if (FILE_EXTENSIONS.has(m[1]!.toLowerCase())) continue;
    const end = at + 1 + m[0].length;
    // `git@github.com:org/repo.git` is a remote, not a mailbox.
    if (text[end] === ':' && text[end + 1] !== undefined && text[end + 1] !== ' ') continue;
    out.push({ type: 'email', start, end });
    from = end;
  }
  return out;
}

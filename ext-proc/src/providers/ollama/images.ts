/*
 * Ollama images are bare base64 strings; the canonical form also wants a media type, which
 * Ollama never states. It is read from the file signature so that backends that require one
 * (Anthropic, Gemini) get the right type.
 */

// Go's base64 decoder (used by Ollama for `images`) skips CR and LF, so wrapped text is valid.
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/;

export function isBase64(text: string): boolean {
  return BASE64.test(text);
}

const SIGNATURES: ReadonlyArray<readonly [string, (b: Buffer) => boolean]> = [
  ['image/png', (b) => b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a],
  ['image/jpeg', (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['image/gif', (b) => b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')],
  ['image/webp', (b) => b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP'],
];

/** The media type of a base64 image, `application/octet-stream` when the signature is unknown. */
export function sniffMediaType(base64: string): string {
  // 24 base64 characters decode to the 18 bytes the longest signature check needs.
  const head = Buffer.from(base64.replace(/[\r\n]/g, '').slice(0, 24), 'base64');
  for (const [type, matches] of SIGNATURES) if (matches(head)) return type;
  return 'application/octet-stream';
}

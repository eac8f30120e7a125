/*
 * Images between the canonical form and Gemini parts. Gemini takes bytes as `inlineData` and
 * anything it fetches itself as `fileData` (Files API URIs, Cloud Storage, and public or signed
 * HTTPS URLs), which must state a MIME type.
 */

const DATA_URI = /^data:([^;,]+)((?:;[^;,=]+=[^;,]*)*);base64,(.*)$/s;

/** `data:<mime>;base64,<data>` split into its parts, or undefined when it is not a base64 data URI. */
export function parseDataUri(uri: string): { mediaType: string; data: string } | undefined {
  const m = DATA_URI.exec(uri);
  if (!m) return undefined;
  return { mediaType: m[1]!.toLowerCase(), data: m[3]! };
}

// The image types Gemini documents as inputs.
const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
};

/** The image MIME type named by the URL's file extension, or undefined when it names none. */
export function imageMimeFromUrl(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/')) return undefined;
  return IMAGE_TYPES[path.slice(dot + 1).toLowerCase()];
}

export const isImageMime = (mime: string): boolean => /^image\//i.test(mime);

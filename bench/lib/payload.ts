/**
 * The request bodies. Every scenario but two sends the same short chat call with a ~1,000-character
 * user message, the size of a typical interactive prompt, built once and sent byte for byte by
 * every load tool. The large-prompt scenario sends an ~8 MiB body of the same shape; the soak
 * numbers each request so that none repeats.
 */

export const CHAT_PATH = '/v1/chat/completions';
export const BENCH_MODEL = 'gpt-4o-mini';

/** A fixed English paragraph (no randomness: every run sends identical bytes). */
const USER_TEXT =
  'Our team runs a small warehouse that ships spare parts for agricultural machinery across three regions. ' +
  'Orders arrive by phone, by email and through a web form, and each channel is handled by a different person, ' +
  'so the same customer is often entered twice with slightly different spellings. Last quarter we shipped about ' +
  'four thousand orders; roughly one in twenty needed a correction after it left the building, usually a wrong ' +
  'address or a part number that had been superseded by the manufacturer. We keep stock levels in a spreadsheet ' +
  'that is updated at the end of every day, which means the web form sometimes accepts orders for parts we no ' +
  'longer have on the shelf. We are considering a single order intake system with a shared customer list and ' +
  'live stock counts. Summarise the main risks of switching in the middle of the busy season, and list three ' +
  'questions we should ask vendors before we commit to anything, in order of importance. Keep the whole answer under two hundred words, please.';

export function chatBody(stream: boolean): string {
  const body: Record<string, unknown> = {
    model: BENCH_MODEL,
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: USER_TEXT },
    ],
  };
  if (stream) body.stream = true;
  return JSON.stringify(body);
}

/** The same call as an Anthropic Messages stream (the translated-stream scenario's caller). */
export function anthropicStreamBody(): string {
  return JSON.stringify({ model: BENCH_MODEL, max_tokens: 1024, system: 'You are terse.', messages: [{ role: 'user', content: USER_TEXT }], stream: true });
}

export const USER_TEXT_CHARS = USER_TEXT.length;

/** Default size of the large-prompt scenario's request body. */
export const BIG_BODY_BYTES = 8 * 1024 * 1024;

/**
 * An OpenAI chat body of exactly `bytes` bytes (UTF-8): the usual system message and one user
 * message made of the fixed paragraph repeated and cut to size. A long document pasted into a
 * prompt: the shape of a 1M-token context call. Plain ASCII, so nothing needs escaping.
 */
export function bigChatBody(bytes: number): string {
  const wrap = (content: string) =>
    JSON.stringify({
      model: BENCH_MODEL,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content },
      ],
    });
  const overhead = Buffer.byteLength(wrap(''));
  if (bytes <= overhead) throw new Error(`a chat body cannot be smaller than ${overhead + 1} bytes`);
  const need = bytes - overhead;
  const unit = `${USER_TEXT} `;
  const content = unit.repeat(Math.ceil(need / unit.length)).slice(0, need);
  const body = wrap(content);
  if (Buffer.byteLength(body) !== bytes) throw new Error(`big body is ${Buffer.byteLength(body)} bytes, wanted ${bytes}`);
  return body;
}

/**
 * A marker placed at the start of the user message of a body meant to be made unique per request
 * (the soak): the load generator replaces it with a request number, so that no two requests share
 * a cache key and, with the cache on, the cache keeps filling.
 */
export const UNIQUE_MARKER = '@@N@@';

export function uniqueChatBodyTemplate(): string {
  return JSON.stringify({
    model: BENCH_MODEL,
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: `[${UNIQUE_MARKER}] ${USER_TEXT}` },
    ],
  });
}

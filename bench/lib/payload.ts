/**
 * The one request every scenario sends: a short chat call with a ~1,000-character user message,
 * the size of a typical interactive prompt. Built once and sent byte for byte by every load tool.
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

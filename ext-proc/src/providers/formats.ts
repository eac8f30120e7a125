import { randomBytes } from 'node:crypto';
import { anthropicFormat } from './anthropic/index.js';
import type { WireFormat } from './canonical/format.js';
import type { FormatId } from './canonical/types.js';
import { geminiFormat } from './gemini/index.js';
import { ollamaFormat } from './ollama/index.js';
import { openaiFormat } from './openai/index.js';

/** Every wire format the gateway speaks, as caller and as backend. */
export const FORMATS: Readonly<Record<FormatId, WireFormat>> = Object.freeze({
  openai: openaiFormat,
  anthropic: anthropicFormat,
  gemini: geminiFormat,
  ollama: ollamaFormat,
});

const ID_PREFIX: Record<FormatId, string> = { openai: 'chatcmpl-', anthropic: 'msg_', gemini: '', ollama: '' };

/** A fresh response id shaped like the caller's API's own ids. */
export function responseId(format: FormatId): string {
  return ID_PREFIX[format] + randomBytes(12).toString('hex');
}

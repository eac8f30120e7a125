import { randomBytes } from 'node:crypto';

/*
 * Ollama answers carry neither a response id nor tool call ids; the canonical form needs both.
 * Tool call ids follow the canonical rule for id-less formats (`call_<index>`), so the same
 * conversation always gets the same ids and tool results can be matched back by position.
 */

export function toolCallId(index: number): string {
  return `call_${index}`;
}

/** An id for a response Ollama did not name; unique enough to tell answers apart in logs. */
export function newResponseId(): string {
  return `ollama-${randomBytes(12).toString('hex')}`;
}

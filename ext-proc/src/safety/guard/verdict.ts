/**
 * The guard's verdict on one call: which texts of the canonical request are checked, under which
 * channel, and how their scores make the call's.
 *
 * Channels (each with its own threshold, model.ts):
 *   - not checked: the system prompt (the operator's own words, not the caller's) and assistant
 *     turns (the model's words, tool-call arguments included); images;
 *   - `data`: tool results, wherever they are; and inside a user message, content the user passes
 *     along rather than says — fenced blocks (``` or ~~~), quoted lines (`>`), text between triple
 *     quotes — and the whole message when its own text is longer than USER_TEXT_MAX characters
 *     (a pasted document);
 *   - `user`: the rest of each user message.
 *
 * Every user message and tool result of the conversation is checked, newest first, up to
 * MAX_CHECKED_CHARS characters in all; a text that does not fit in what is left is checked at its
 * head and tail. The call's score is the highest of its parts (each already re-centred on its
 * channel's threshold), and the call is flagged when that score reaches 0.5.
 */
import path from 'node:path';
import { repoRoot } from '../../config/paths.js';
import type { CanonicalRequest } from '../../providers/canonical/types.js';
import type { Channel } from './features.js';
import { type GuardModel, GuardScorer, loadGuardModel } from './model.js';

/** A user message whose own text is longer than this is a pasted document: the `data` channel. */
export const USER_TEXT_MAX = 1500;
/** At most this many characters are checked per call (about 8,000 tokens), newest first. */
export const MAX_CHECKED_CHARS = 32_000;

/**
 * What the gateway does with the guard, per tenant (`guard:`) or for all (GUARD_MODE): nothing;
 * check and report (headers, metric, log); check and refuse a flagged call (403 prompt_injection).
 */
export const GUARD_MODES = ['off', 'monitor', 'block'] as const;
export type GuardMode = (typeof GUARD_MODES)[number];

export type GuardVerdictName = 'clean' | 'flagged';

/** One text to check, with where it came from (for logs: never the text itself). */
export interface GuardPart {
  channel: Channel;
  text: string;
  /** e.g. `messages[3].content[0]`, `messages[5].tool_result`, `messages[1].fenced` */
  where: string;
}

export interface GuardVerdict {
  verdict: GuardVerdictName;
  /** The highest part score, 0–1, re-centred so that 0.5 is the verdict line. */
  score: number;
  /** The channel of the highest-scoring part; `none` when there was nothing to check. */
  channel: Channel | 'none';
  /** Where the highest-scoring part is. */
  where?: string;
  /** Parts checked. */
  parts: number;
  /** Some text was left unchecked (beyond MAX_CHECKED_CHARS). */
  truncated: boolean;
}

/** Blocks a user passes along: fenced code, runs of `>` lines, triple-quoted text. */
const PASSED_ALONG = /(^|\n)[ \t]*(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:\n[ \t]*\2[ \t]*(?=\n|$)|$)|(?:(?:^|\n)[ \t]*>[^\n]*)+|"""[\s\S]*?(?:"""|$)/g;

/**
 * Splits a user message into what the user says (`user`) and what it passes along (`data`).
 * `pasted`: the message was too long to check whole (a document, whatever its shape).
 */
export function splitUserText(text: string, where: string, pasted = false): GuardPart[] {
  const out: GuardPart[] = [];
  let own = '';
  if (text.includes('```') || text.includes('~~~') || text.includes('>') || text.includes('"""')) {
    let last = 0;
    PASSED_ALONG.lastIndex = 0;
    for (let m = PASSED_ALONG.exec(text); m; m = PASSED_ALONG.exec(text)) {
      if (m[0].length === 0) {
        PASSED_ALONG.lastIndex++;
        continue;
      }
      own += text.slice(last, m.index);
      out.push({ channel: 'data', text: m[0], where: `${where}.passed` });
      last = m.index + m[0].length;
    }
    own += text.slice(last);
  } else own = text;
  if (own.trim().length > 0) out.unshift({ channel: pasted || own.length > USER_TEXT_MAX ? 'data' : 'user', text: own, where });
  return out;
}

/** The first and last characters of a text, `length` in all: where instructions usually sit in a document. */
function headAndTail(text: string, length: number): string {
  const head = Math.floor(length / 2);
  return `${text.slice(0, head)}\n${text.slice(text.length - Math.max(0, length - head - 1))}`;
}

/**
 * The texts of a request the guard checks, newest message first, at most `budget` characters in
 * all (see the module comment); `truncated` when some text was left out.
 */
export function guardParts(chat: CanonicalRequest, budget = MAX_CHECKED_CHARS): { parts: GuardPart[]; truncated: boolean } {
  const parts: GuardPart[] = [];
  let left = budget;
  let truncated = false;
  for (let i = chat.messages.length - 1; i >= 0 && !truncated; i--) {
    const m = chat.messages[i]!;
    if (m.role === 'assistant') continue;
    for (let j = 0; j < m.content.length; j++) {
      const p = m.content[j]!;
      const isResult = p.type === 'tool_result';
      if (!isResult && !(p.type === 'text' && m.role === 'user')) continue;
      if (left <= 0) {
        truncated = true;
        break;
      }
      let text = isResult ? p.content : p.type === 'text' ? p.text : '';
      const cut = text.length > left;
      if (cut) {
        text = headAndTail(text, left);
        truncated = true;
      }
      left -= text.length;
      const where = `messages[${i}].content[${j}]`;
      if (isResult) parts.push({ channel: 'data', text, where: `${where}.tool_result` });
      else parts.push(...splitUserText(text, where, cut));
    }
  }
  return { parts, truncated };
}

/** Scores calls with one model. Not re-entrant (the hot path is synchronous). */
export class PromptGuard {
  private readonly scorer: GuardScorer;

  constructor(readonly model: GuardModel) {
    this.scorer = new GuardScorer(model);
  }

  /** A text's re-centred score in a channel (0.5 = the channel's threshold). */
  scoreText(text: string, channel: Channel): number {
    return this.scorer.score(text, channel).score;
  }

  check(chat: CanonicalRequest): GuardVerdict {
    const { parts, truncated } = guardParts(chat);
    let best = 0;
    let channel: Channel | 'none' = 'none';
    let where: string | undefined;
    for (const part of parts) {
      const s = this.scoreText(part.text, part.channel);
      if (channel === 'none' || s > best) {
        best = s;
        channel = part.channel;
        where = part.where;
      }
    }
    return { verdict: best >= 0.5 ? 'flagged' : 'clean', score: best, channel, where, parts: parts.length, truncated };
  }
}

export function defaultGuardWeightsPath(): string {
  return path.join(repoRoot(), 'models', 'guard', 'weights.json');
}

/** The shipped guard (models/guard/weights.json), or the one at `weightsPath`. */
export function loadPromptGuard(weightsPath = defaultGuardWeightsPath()): PromptGuard {
  return new PromptGuard(loadGuardModel(weightsPath));
}

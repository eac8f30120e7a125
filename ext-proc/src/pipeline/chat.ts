import { GatewayError } from '../errors.js';
import type { Endpoint } from '../ingress/endpoints.js';
import type { CanonicalRequest } from '../providers/canonical/types.js';
import { nestedDeeperThan, tooDeepMessage } from '../util/json-depth.js';
import type { Caller } from './caller.js';

/** The caller's chat request: its JSON as sent, and the same in the gateway's canonical form. */
export interface ChatRequest {
  /** The parsed body, in the caller's API (sent on unchanged to a backend of that API). */
  parsed: Record<string, unknown>;
  chat: CanonicalRequest;
  bodyBytes: number;
  /** `parsed` no longer matches the caller's bytes (PII redaction): it must be sent re-serialised. */
  rewritten?: boolean;
}

/** Parses and validates the body against the caller's API; 400 naming the bad field, or for a body nested too deeply. */
export function readChatRequest(caller: Caller, body: Buffer): ChatRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatewayError(
      'invalid_request',
      'We could not parse the JSON body of your request. The body must be a valid JSON object (Content-Type: application/json).',
      { code: 'invalid_json' },
    );
  }
  // Before anything walks it: what follows (parsers, translators, JSON.stringify) may recurse.
  if (nestedDeeperThan(parsed)) throw new GatewayError('invalid_request', tooDeepMessage('The request body'), { code: 'invalid_value' });
  const endpoint = caller.endpoint as Extract<Endpoint, { op: 'chat' }>;
  const chat = caller.caller.parseRequest(parsed, { pathModel: endpoint.model, stream: endpoint.stream });
  return { parsed: parsed as Record<string, unknown>, chat, bodyBytes: body.length };
}

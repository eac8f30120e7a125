import type { Model } from '../catalog/load.js';
import { API_HEADERS, CALLER_ONLY_HEADERS, CREDENTIAL_HEADERS } from '../ingress/caller-headers.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { CanonicalRequest, FormatId } from '../providers/canonical/types.js';
import { FORMATS } from '../providers/formats.js';
import type { HeaderPair } from '../server/codec/messages.js';

/** The request as the backend must receive it: header changes and, when it changes, the body. */
export interface UpstreamRequest {
  set: HeaderPair[];
  remove: string[];
  /** The new body; undefined: the caller's bytes go on unchanged. */
  body: Buffer | undefined;
}

/**
 * The caller's request rewritten for one backend: its path, host and credential, and its body in
 * the backend's API (rebuilt from the canonical form), or, for a backend of the caller's own API,
 * the caller's body with only the model name changed. Shared by the router-level processor
 * (direct calls) and the per-attempt one (each member of a fallback chain).
 */
export function upstreamRequest(o: {
  caller: WireFormat;
  model: Model;
  authority: string;
  /** The provider credential to send; undefined for keyless backends. */
  credential: string | undefined;
  chat: CanonicalRequest;
  parsed: Record<string, unknown>;
  stream: boolean;
}): UpstreamRequest {
  const backend = FORMATS[o.model.provider.format];
  const translating = backend.id !== o.caller.id;
  const body = translating
    ? Buffer.from(JSON.stringify(backend.buildRequest(o.chat, o.model.upstreamId)), 'utf8')
    : retargetSameFormatBody(o.parsed, backend.id, o.model.upstreamId, o.stream)
      ? Buffer.from(JSON.stringify(o.parsed), 'utf8')
      : undefined;
  const call = backend.upstreamCall({ basePath: o.model.provider.basePath, upstreamModel: o.model.upstreamId, stream: o.stream, credential: o.credential });
  const set: HeaderPair[] = [[':path', call.path], [':authority', o.authority], ...call.headers];
  if (body) set.push(['content-length', String(body.length)]);
  if (translating) set.push(['content-type', 'application/json']);
  // The gateway reads every answer (usage, translation): it must not arrive compressed. Credential
  // headers of any API the call does not set go, and so do another API's version headers.
  // The caller's address is nobody's business at a provider.
  const remove = ['accept-encoding', 'x-forwarded-for', 'x-envoy-external-address'];
  const setByCall = new Set(call.headers.map(([k]) => k));
  for (const name of translating ? [...API_HEADERS, ...CALLER_ONLY_HEADERS] : CREDENTIAL_HEADERS) {
    if (!setByCall.has(name) && !remove.includes(name)) remove.push(name);
  }
  return { set, remove, body };
}

/**
 * The caller's own body made ready for a backend of the same API: the backend's model name
 * (Gemini's is in the URL instead) and, for OpenAI streams, usage reporting, which the gateway
 * always needs. Returns whether `parsed` changed, so unchanged bodies pass byte for byte.
 */
export function retargetSameFormatBody(parsed: Record<string, unknown>, format: FormatId, upstreamModel: string, stream: boolean): boolean {
  let changed = false;
  if (format !== 'gemini' && parsed.model !== upstreamModel) {
    parsed.model = upstreamModel;
    changed = true;
  }
  if (format === 'openai' && stream) {
    const options = parsed.stream_options as { include_usage?: boolean } | null | undefined;
    if (options?.include_usage !== true) {
      parsed.stream_options = { ...(options ?? {}), include_usage: true };
      changed = true;
    }
  }
  return changed;
}

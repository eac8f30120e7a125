import { randomUUID } from 'node:crypto';
import { extractKey } from '../auth/keys.js';
import type { PrincipalWithPolicy } from '../auth/principal.js';
import { cacheDirective, type CacheDirective } from '../cache/response-cache.js';
import { GATEWAY_HEADER_PREFIX, LOCAL_ONLY_HEADER } from '../contract.js';
import { GatewayError } from '../errors.js';
import { CALLER_ENVOY_HEADERS, CREDENTIAL_HEADERS } from '../ingress/caller-headers.js';
import { apiFamilyOfRequest, detectEndpoint, splitPath, type Endpoint } from '../ingress/endpoints.js';
import type { WireFormat } from '../providers/canonical/format.js';
import { FORMATS } from '../providers/formats.js';
import type { HeaderRecord } from '../server/codec/messages.js';
import type { TenantPolicy } from '../tenants/policy.js';
import type { GatewayContext } from './context.js';

/** What the request headers say: which API, which endpoint, and the request id. */
export interface RequestHead {
  rid: string;
  endpoint: Endpoint;
  /** The API the caller speaks; errors and answers go back in it. */
  caller: WireFormat;
  headers: HeaderRecord;
  query: URLSearchParams | undefined;
}

/** Who is calling, once authenticated. */
export interface Identity {
  principal: PrincipalWithPolicy;
  /** The tenant's policy; undefined = defaults. */
  policy: TenantPolicy | undefined;
}

/** An authenticated caller and what its headers ask of the gateway. */
export interface Caller extends RequestHead, Identity {
  /** The caller asked (x-gateway-local-only) that the request stay on local backends. */
  localOnlyAsked: boolean;
  cacheDirective: CacheDirective;
  /** Request headers that must not go upstream: the caller's key, gateway and Envoy control headers. */
  strip: string[];
}

/** The caller's API as far as it can be told before the endpoint is known (for errors). */
export const DEFAULT_CALLER = FORMATS.openai;

/**
 * The caller's API for a request the gateway does not serve (its 404) or cannot read: as its path
 * tells it, else as its headers do (an SDK's key header, `anthropic-version`), else OpenAI's.
 */
export function callerOfRequest(headers: HeaderRecord): WireFormat {
  const { path, query } = splitPath(headers[':path'] ?? '/');
  return FORMATS[apiFamilyOfRequest(path, headers, query)];
}

/** The call's request id: Envoy's x-request-id (DESIGN §4), or a fresh one. */
export function requestId(headers: HeaderRecord): string {
  return headers['x-request-id'] || randomUUID();
}

/** Reads the request line and headers; throws 404 for an unknown endpoint, 400 for a bad URL. */
export function readHead(headers: HeaderRecord, rid: string): RequestHead {
  const { path, query } = splitPath(headers[':path'] ?? '/');
  const endpoint = detectEndpoint(headers[':method'] ?? 'GET', path, headers['anthropic-version'] !== undefined);
  if (!endpoint) throw new GatewayError('not_found', `Unknown endpoint ${headers[':method']} ${path}.`, { code: 'unknown_url' });
  if (endpoint.op === 'chat' && endpoint.stream && query?.get('alt') !== 'sse') {
    // Without alt=sse Gemini streams one growing JSON array; every Gemini SDK asks for SSE.
    throw new GatewayError('invalid_request', 'streamGenerateContent is served as server-sent events only: add ?alt=sse to the URL.', { param: 'alt' });
  }
  return { rid, endpoint, caller: FORMATS[endpoint.api], headers, query };
}

/**
 * The caller's tenant, from its gateway key (where its API's SDK puts it) or, in transparent
 * mode, from the mesh identity. 401 without either, 503 when keys cannot be checked.
 */
export async function authenticate(gw: GatewayContext, head: RequestHead): Promise<Caller> {
  const key = extractKey(head.headers, head.query);
  let principal: PrincipalWithPolicy | undefined;
  if (key) {
    const found = await gw.auth.authenticate(key);
    if (found === 'unavailable') {
      throw new GatewayError('unavailable', 'The gateway cannot check API keys right now. Retry shortly.', { code: 'auth_unavailable', retryAfterSeconds: 1 });
    }
    // Transparent mode: a service's SDK may send a placeholder key; the mesh identity vouches for it.
    principal = found ?? gw.identity?.authenticate(head.headers);
    if (!principal) throw new GatewayError('authentication', 'Incorrect API key provided.', { code: 'invalid_api_key' });
  } else {
    principal = gw.identity?.authenticate(head.headers);
    if (!principal) {
      throw new GatewayError(
        'authentication',
        "You didn't provide an API key. Send your gateway key in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY).",
      );
    }
  }
  return {
    ...head,
    principal,
    policy: gw.tenants.get(principal.tenant),
    localOnlyAsked: /^(1|true|yes)$/i.test(head.headers[LOCAL_ONLY_HEADER] ?? ''),
    cacheDirective: cacheDirective(head.headers['cache-control']),
    strip: headersToStrip(gw, head.headers),
  };
}

/** Callers must never choose internal routing headers, and their gateway key stops here. */
function headersToStrip(gw: GatewayContext, headers: HeaderRecord): string[] {
  const remove = [...CREDENTIAL_HEADERS, ...CALLER_ENVOY_HEADERS];
  for (const name of Object.keys(headers)) if (name.startsWith(GATEWAY_HEADER_PREFIX)) remove.push(name);
  // The mesh identity is for the gateway, not for a provider outside the mesh.
  if (gw.identity) remove.push(gw.identity.header);
  return remove;
}

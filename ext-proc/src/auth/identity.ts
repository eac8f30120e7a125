import { createHash } from 'node:crypto';
import type { Principal } from './keys.js';

/**
 * Transparent mode: services reach the gateway through the mesh with no gateway key, and the
 * mesh vouches for them. The identity header must be one the mesh sets and strips from callers
 * (Envoy sanitises `x-forwarded-client-cert` by default and sets it from the mTLS peer).
 */
export class IdentityAuthenticator {
  constructor(
    readonly header: string,
    private readonly tenants: ReadonlyMap<string, string>,
  ) {}

  authenticate(headers: Record<string, string>): Principal | undefined {
    const raw = headers[this.header];
    if (!raw) return undefined;
    for (const id of this.header === 'x-forwarded-client-cert' ? xfccUris(raw) : [raw.trim()]) {
      const tenant = this.tenants.get(id);
      if (tenant) return { tenant, keyId: `id-${createHash('sha256').update(id).digest('hex').slice(0, 9)}` };
    }
    return undefined;
  }
}

/**
 * The URI= values of an XFCC header (`By=...;Hash=...;URI=spiffe://...`, elements comma-separated;
 * values may be double-quoted). The last element is the nearest peer, so it is tried first.
 */
export function xfccUris(header: string): string[] {
  const out: string[] = [];
  for (const element of splitOutsideQuotes(header, ',')) {
    for (const pair of splitOutsideQuotes(element, ';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'uri') continue;
      let v = pair.slice(eq + 1).trim();
      if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\"/g, '"');
      if (v) out.push(v);
    }
  }
  return out.reverse();
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

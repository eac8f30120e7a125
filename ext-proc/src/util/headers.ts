import type { HeaderMap, HeaderValueOption } from '../../../protos/ext-proc.js';

/** Envoy sends header values as `raw_value` bytes (newer releases) or `value` strings (older ones). */
export function headerMapToRecord(map: HeaderMap | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of map?.headers ?? []) {
    if (!h.key) continue;
    const v = h.raw_value && h.raw_value.length > 0 ? h.raw_value.toString('utf8') : (h.value ?? '');
    // Repeated headers are joined as HTTP allows; none of the ones we read are repeated in practice.
    out[h.key] = h.key in out ? `${out[h.key]},${v}` : v;
  }
  return out;
}

export function setHeader(key: string, value: string): HeaderValueOption {
  return { header: { key, raw_value: Buffer.from(value, 'utf8') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

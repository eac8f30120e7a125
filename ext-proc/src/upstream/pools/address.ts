import { isIPv4, isIPv6 } from 'node:net';

/** An endpoint as Envoy's override host names it, and where its server is asked for metrics. */
export interface EndpointAddress {
  /** `ip:port` (`[v6]:port` for IPv6), the form Envoy's override-host policy expects. */
  key: string;
  metricsUrl: string;
}

export class EndpointAddressError extends Error {}

/**
 * Envoy routes an override host only to an address it can parse, never through DNS, so a pool
 * endpoint must be an IP literal; `localhost` is the one name accepted, as 127.0.0.1.
 */
export function endpointAddress(raw: string): EndpointAddress {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new EndpointAddressError(`'${raw}' is not a URL (expected e.g. http://10.0.0.7:8000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EndpointAddressError(`'${raw}': only http and https endpoints are supported`);
  }
  let host = url.hostname;
  if (host === 'localhost') host = '127.0.0.1';
  const v6 = host.startsWith('[') && isIPv6(host.slice(1, -1));
  if (!v6 && !isIPv4(host)) {
    throw new EndpointAddressError(
      `'${raw}': host '${url.hostname}' is not an IP address; Envoy's override host needs ip:port, so list pool endpoints by IP (or localhost)`,
    );
  }
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return { key: `${host}:${port}`, metricsUrl: new URL('/metrics', url).toString() };
}

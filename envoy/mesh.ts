/*
 * Kubernetes resources that put the gateway into a service mesh: Istio (egress gateway, with
 * transparent mode for every service) and Envoy Gateway (an extension policy on an HTTPRoute).
 * Rendered with the same filter and clusters as the standalone bootstrap (envoy/render.ts).
 */
import type { Catalog } from '../ext-proc/src/catalog/load.js';

/** The provider hosts services call in transparent mode. */
export const TRANSPARENT_HOSTS = ['api.openai.com', 'api.anthropic.com', 'generativelanguage.googleapis.com'];
const NAMESPACE = 'istio-system';
const EGRESS = { istio: 'egressgateway' };

export function istioEgress(o: {
  /** HTTP filters inserted before the router, in this order. */
  filters: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  clusters: Record<string, unknown>[];
}): Record<string, unknown>[] {
  const meta = (name: string) => ({ name, namespace: NAMESPACE });
  return [
    {
      // The provider hosts exist outside the mesh; services call them in plain HTTP on port 80 (their
      // SDK's base URL, e.g. OPENAI_BASE_URL=http://api.openai.com/v1) and the mesh protects the hop.
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: meta('llm-providers'),
      spec: {
        hosts: TRANSPARENT_HOSTS,
        location: 'MESH_EXTERNAL',
        resolution: 'DNS',
        ports: [
          { number: 80, name: 'http', protocol: 'HTTP' },
          { number: 443, name: 'https', protocol: 'TLS' },
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: meta('llm-egress'),
      spec: { selector: EGRESS, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: TRANSPARENT_HOSTS, tls: { mode: 'ISTIO_MUTUAL' } }] },
    },
    {
      // Sidecars send provider calls to the egress gateway over mutual TLS; the gateway's Envoy then
      // sets x-forwarded-client-cert to the caller's SPIFFE id, which tenants list as `identities`.
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: meta('llm-egress'),
      spec: { host: 'istio-egressgateway.istio-system.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: meta('llm-via-egress'),
      spec: {
        hosts: TRANSPARENT_HOSTS,
        gateways: ['mesh', 'llm-egress'],
        http: [
          {
            match: [{ gateways: ['mesh'], port: 80 }],
            route: [{ destination: { host: 'istio-egressgateway.istio-system.svc.cluster.local', port: { number: 80 } } }],
          },
          // Replaced per call by the processor's choice (routes inserted below); this is the default.
          ...TRANSPARENT_HOSTS.map((host) => ({
            match: [{ gateways: ['llm-egress'], authority: { exact: host } }],
            route: [{ destination: { host, port: { number: 443 } } }],
          })),
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'EnvoyFilter',
      metadata: meta('llm-gateway'),
      spec: {
        workloadSelector: { labels: EGRESS },
        configPatches: [
          // Each before the router: they keep their order.
          ...o.filters.map((value) => ({
            applyTo: 'HTTP_FILTER',
            match: {
              context: 'GATEWAY',
              listener: {
                filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } },
              },
            },
            patch: { operation: 'INSERT_BEFORE', value },
          })),
          ...TRANSPARENT_HOSTS.flatMap((host) =>
            [...o.routes].reverse().map((route) => ({
              applyTo: 'HTTP_ROUTE',
              match: { context: 'GATEWAY', routeConfiguration: { vhost: { name: `${host}:80` } } },
              patch: { operation: 'INSERT_FIRST', value: route },
            })),
          ),
          ...o.clusters.map((value) => ({ applyTo: 'CLUSTER', match: { context: 'GATEWAY' }, patch: { operation: 'ADD', value } })),
          {
            // Envoy resets each finished ext_proc stream otherwise (see README, step 5).
            applyTo: 'BOOTSTRAP',
            patch: {
              operation: 'MERGE',
              value: {
                layered_runtime: { layers: [{ name: 'llm-gateway', static_layer: { 'envoy.reloadable_features.ext_proc_graceful_grpc_close': true } }] },
              },
            },
          },
        ],
      },
    },
  ];
}

/**
 * Envoy Gateway: the HTTPRoute takes the LLM paths; the processor picks the provider by setting
 * x-gateway-cluster and asking for a new route, which matches one rule per provider. Envoy Gateway
 * has no per-attempt (upstream) ext_proc, so run the processor with FALLBACK_CHAINS=false there.
 */
export function envoyGatewayPolicy(catalog: Catalog): Record<string, unknown>[] {
  const ns = 'llm-gateway';
  const providers = [...catalog.providers.values()].filter((p) => p.tls);
  return [
    ...providers.map((p) => ({
      apiVersion: 'gateway.envoyproxy.io/v1alpha1',
      kind: 'Backend',
      metadata: { name: p.id, namespace: ns },
      spec: { endpoints: [{ fqdn: { hostname: p.host, port: p.port } }] },
    })),
    ...providers.map((p) => ({
      apiVersion: 'gateway.networking.k8s.io/v1alpha3',
      kind: 'BackendTLSPolicy',
      metadata: { name: p.id, namespace: ns },
      spec: {
        targetRefs: [{ group: 'gateway.envoyproxy.io', kind: 'Backend', name: p.id }],
        validation: { hostname: p.host, wellKnownCACertificates: 'System' },
      },
    })),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'llm-apis', namespace: ns },
      spec: {
        parentRefs: [{ name: 'eg', namespace: 'envoy-gateway-system' }],
        rules: [
          ...providers.map((p) => ({
            matches: [{ headers: [{ name: 'x-gateway-cluster', value: p.cluster }] }],
            backendRefs: [{ group: 'gateway.envoyproxy.io', kind: 'Backend', name: p.id, port: p.port }],
            timeouts: { request: '600s' },
          })),
          {
            // Where calls enter before the processor has picked a provider (it always picks one, or
            // answers itself); the extension policy applies to this rule too.
            matches: ['/v1/', '/v1beta/', '/api/'].map((value) => ({ path: { type: 'PathPrefix', value } })),
            backendRefs: [{ group: 'gateway.envoyproxy.io', kind: 'Backend', name: 'openai', port: 443 }],
          },
        ],
      },
    },
    {
      apiVersion: 'gateway.envoyproxy.io/v1alpha1',
      kind: 'EnvoyExtensionPolicy',
      metadata: { name: 'llm-gateway', namespace: ns },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'llm-apis' }],
        extProc: [
          {
            backendRefs: [{ name: 'llm-gateway-ext-proc', port: 50051 }],
            processingMode: { request: { body: 'Buffered' }, response: { body: 'Streamed' }, allowModeOverride: true },
            messageTimeout: '5s',
            failOpen: false,
          },
        ],
      },
    },
  ];
}

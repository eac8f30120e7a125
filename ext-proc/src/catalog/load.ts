/**
 * Model catalog loader: parses `models/catalog.yaml`, validates it with zod plus
 * cross-entry checks, and builds the immutable runtime catalog.
 *
 * Every problem is reported as `file:line:col: entry: field: message`, e.g.
 *   models/catalog.yaml:42:5: models[3] (id: gpt-4o): pricing.input: expected number >= 0, got -1
 * Line/column come from the YAML node the issue's path points at (or the nearest
 * existing ancestor, e.g. the entry itself when a required field is missing).
 */
import { readFileSync } from 'node:fs';
import { didYouMean, valueAt, YamlSource, YamlSourceError } from '../config/yaml-source.js';
import type { IssueWording, LocatedIssue } from '../config/yaml-source.js';
import { CatalogSchema } from './schema.js';
import type { Capability, ProviderFormat, RawCatalog, Tier } from './schema.js';

export { CAPABILITIES, PROVIDER_FORMATS, TIERS } from './schema.js';
export type { Capability, ProviderFormat, Tier } from './schema.js';

export interface Pricing {
  /** USD per 1M input (prompt) tokens. */
  inputPerMTok: number;
  /** USD per 1M output (completion, incl. reasoning) tokens. */
  outputPerMTok: number;
  /** USD per 1M input tokens served from the provider's prompt cache; absent = no discount known. */
  cachedInputPerMTok?: number;
}

export interface Provider {
  id: string;
  format: ProviderFormat;
  host: string;
  port: number;
  tls: boolean;
  basePath: string;
  /** Environment variable with the credential; absent for keyless backends. */
  apiKeyEnv?: string;
  /** Keyless backends are offered while this variable is set. */
  enabledEnv?: string;
  /** Envoy cluster name for this upstream; equal to `id`. */
  cluster: string;
}

export interface Model {
  id: string;
  provider: Provider;
  /** Model name sent to the provider (defaults to `id`). */
  upstreamId: string;
  aliases: string[];
  pricing: Pricing;
  contextWindow: number;
  maxOutputTokens: number;
  capabilities: ReadonlySet<Capability>;
  tier: Tier;
  /** Response cache lifetime for this model's answers, when the catalog sets one. */
  cacheTtlSeconds?: number;
  /** Ids of the models tried, in order, when this one fails (empty: no fallback). */
  fallbacks: readonly string[];
}

export interface Catalog {
  providers: ReadonlyMap<string, Provider>;
  models: readonly Model[];
  /** Look a model up by id or alias (exact, case-sensitive). O(1). */
  find(name: string): Model | undefined;
}

/** One validation problem, already located in the source file (a line of CatalogError.message). */
export type CatalogIssue = LocatedIssue;

export class CatalogError extends YamlSourceError {
  constructor(source: string, issues: readonly CatalogIssue[]) {
    super('CatalogError', source, issues);
  }
}

// ---------------------------------------------------------------------------
// Public API

export function loadCatalog(path: string): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CatalogError(path, [{ line: 0, col: 0, path: [], message: `${path}: cannot read model catalog: ${reason}` }]);
  }
  return parseCatalog(text, path);
}

export function parseCatalog(text: string, source: string): Catalog {
  const yaml = YamlSource.parse(text, source, CATALOG_WORDING, CatalogError);
  const raw = yaml.validate(CatalogSchema, { reportInput: true });
  checkCrossReferences(raw, yaml);
  yaml.throwIfAny();
  return build(raw);
}

/** A catalog with only the providers `keep` accepts, and only the models served by them. */
export function filterCatalog(c: Catalog, keep: (p: Provider) => boolean): Catalog {
  const providers = new Map<string, Provider>();
  for (const [id, p] of c.providers) if (keep(p)) providers.set(id, p);
  const models = c.models.filter((m) => providers.get(m.provider.id) === m.provider);
  return makeCatalog(providers, models);
}

// ---------------------------------------------------------------------------
// Building the runtime catalog

function build(raw: RawCatalog): Catalog {
  const providers = new Map<string, Provider>();
  for (const [id, p] of Object.entries(raw.providers)) {
    providers.set(
      id,
      Object.freeze({
        id,
        format: p.format,
        host: p.host,
        port: p.port,
        tls: p.tls,
        basePath: p.base_path,
        apiKeyEnv: p.api_key_env,
        enabledEnv: p.enabled_env,
        cluster: id,
      }),
    );
  }
  const models = raw.models.map((m): Model => {
    const provider = providers.get(m.provider);
    if (!provider) throw new Error(`unreachable: provider ${m.provider} was validated`);
    const pricing: Pricing = { inputPerMTok: m.pricing.input, outputPerMTok: m.pricing.output };
    if (m.pricing.cached_input !== undefined) pricing.cachedInputPerMTok = m.pricing.cached_input;
    return Object.freeze({
      id: m.id,
      provider,
      upstreamId: m.upstream_id ?? m.id,
      aliases: Object.freeze([...m.aliases]) as string[],
      pricing: Object.freeze(pricing),
      contextWindow: m.context_window,
      maxOutputTokens: m.max_output_tokens,
      capabilities: new Set(m.capabilities),
      tier: m.tier,
      ...(m.cache_ttl_seconds !== undefined ? { cacheTtlSeconds: m.cache_ttl_seconds } : {}),
      // Stored as ids (aliases resolved): the runtime catalog may drop providers without credentials.
      fallbacks: Object.freeze((m.fallbacks ?? []).map((f) => resolveName(raw, f))),
    });
  });
  return makeCatalog(providers, models);
}

function resolveName(raw: RawCatalog, name: string): string {
  return raw.models.find((m) => m.id === name || m.aliases.includes(name))?.id ?? name;
}

function makeCatalog(providers: Map<string, Provider>, models: readonly Model[]): Catalog {
  const byName = new Map<string, Model>();
  for (const m of models) {
    byName.set(m.id, m);
    for (const a of m.aliases) byName.set(a, m);
  }
  return Object.freeze({
    providers,
    models: Object.freeze([...models]),
    find: (name: string) => byName.get(name),
  });
}

// ---------------------------------------------------------------------------
// Cross-entry validation (needs the whole, schema-valid catalog)

function checkCrossReferences(raw: RawCatalog, r: YamlSource): void {
  const providerIds = Object.keys(raw.providers);
  const seen = new Map<string, { index: number; kind: 'id' | 'alias'; path: (string | number)[] }>();

  raw.models.forEach((m, i) => {
    if (!Object.hasOwn(raw.providers, m.provider)) {
      r.addAtPath(
        ['models', i, 'provider'],
        `unknown provider "${m.provider}"${didYouMean(m.provider, providerIds)} (known: ${providerIds.join(', ') || 'none'})`,
      );
    }
  });

  raw.models.forEach((m, i) => {
    (m.fallbacks ?? []).forEach((f, j) => {
      const target = raw.models.find((x) => x.id === f || x.aliases.includes(f));
      if (!target) r.addAtPath(['models', i, 'fallbacks', j], `unknown model "${f}" in fallbacks`);
      else if (target === m) r.addAtPath(['models', i, 'fallbacks', j], `a model cannot be its own fallback`);
      else if ((m.fallbacks ?? []).slice(0, j).some((g) => raw.models.find((x) => x.id === g || x.aliases.includes(g)) === target)) {
        r.addAtPath(['models', i, 'fallbacks', j], `"${f}" is listed twice in fallbacks`);
      }
    });
  });

  // Ids first, then aliases: when an alias collides with an id, the alias is the one blamed.
  const names: { name: string; index: number; kind: 'id' | 'alias'; path: (string | number)[] }[] = [
    ...raw.models.map((m, i) => ({ name: m.id, index: i, kind: 'id' as const, path: ['models', i, 'id'] })),
    ...raw.models.flatMap((m, i) => m.aliases.map((a, j) => ({ name: a, index: i, kind: 'alias' as const, path: ['models', i, 'aliases', j] }))),
  ];
  for (const n of names) {
    const prev = seen.get(n.name);
    if (!prev) {
      seen.set(n.name, n);
      continue;
    }
    const what = n.kind === 'id' ? `duplicate model id "${n.name}"` : `duplicate alias "${n.name}"`;
    const already = prev.index === n.index ? `already this model's ${prev.kind}` : `already the ${prev.kind} of ${r.entryLabel(['models', prev.index])}`;
    r.addAtPath(n.path, `${what}: ${already} at ${r.where(prev.path)}`);
  }
}

// ---------------------------------------------------------------------------
// Naming the places in the catalog

const CATALOG_WORDING: IssueWording = {
  /** `models[3] (id: gpt-4o)`, `providers.openai`, or the top-level key. */
  entryLabel(path, value) {
    const [head, index] = path;
    if (head === 'models' && typeof index === 'number') {
      const id = valueAt(value, ['models', index, 'id']);
      return typeof id === 'string' ? `models[${index}] (id: ${id})` : `models[${index}]`;
    }
    if (head === 'providers' && path.length >= 2) return `providers.${String(index)}`;
    return head === undefined ? '(catalog root)' : String(head);
  },
  fieldPath(path) {
    const [head] = path;
    if ((head === 'models' || head === 'providers') && path.length >= 2) return path.slice(2);
    return path.slice(1);
  },
};

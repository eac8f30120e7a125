/**
 * Canary settings as written in YAML (snake_case, strict: a misspelt key is an error) and as the
 * router uses them (camelCase, defaults filled in by {@link resolveCanary}).
 *
 *   canaries:
 *     - name: llama-3.3-v2
 *       tenant: acme            # absent = every tenant
 *       stable: llama-3.3-70b
 *       canary: llama-3.3-70b-v2
 *       percent: 5
 *       slo: { p95_ms: 2000, max_error_rate: 0.05 }
 *       window_seconds: 60
 *       min_samples: 20
 */
import { z } from 'zod';
import { TENANT_NAME_RE } from '../auth/keys.js';
import { MODEL_NAME_RE } from '../catalog/schema.js';

export interface CanaryConfig {
  name: string;
  /** Absent = every tenant. */
  tenant?: string;
  /** Catalog model id whose traffic is split. */
  stable: string;
  /** Catalog model id that receives the canary share. */
  canary: string;
  /** 0..100 of the stable model's traffic (fractions allowed). */
  percent: number;
  slo?: { p95Ms?: number; maxErrorRate?: number };
  windowSeconds?: number;
  minSamples?: number;
}

export const CANARY_DEFAULTS = { p95Ms: 2000, maxErrorRate: 0.05, windowSeconds: 60, minSamples: 20 } as const;

/** A config with every default applied. */
export interface ResolvedCanary {
  name: string;
  tenant: string | undefined;
  stable: string;
  canary: string;
  percent: number;
  p95Ms: number;
  maxErrorRate: number;
  windowSeconds: number;
  minSamples: number;
}

const ModelId = z.string().regex(MODEL_NAME_RE, 'model id must be non-empty, start with a letter or digit, and contain no whitespace');

const RawCanarySchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/, 'canary names may only use letters, digits and . _ : / @ + - (max 128)'),
    tenant: z.string().regex(TENANT_NAME_RE, 'tenant names may only use letters, digits, _ . - (max 64)').optional(),
    stable: ModelId,
    canary: ModelId,
    percent: z.number().min(0).max(100),
    slo: z
      .strictObject({
        p95_ms: z.number().positive().optional(),
        max_error_rate: z.number().min(0).max(1).optional(),
      })
      .optional(),
    window_seconds: z.int().min(1).max(86_400).optional(),
    min_samples: z.int().min(1).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.stable === c.canary) {
      ctx.addIssue({ code: 'custom', path: ['canary'], message: `canary must differ from stable (both are "${c.stable}")` });
    }
  });

export type RawCanaryConfig = z.input<typeof RawCanarySchema>;

/** One canary as written in YAML → {@link CanaryConfig}. */
export const CanaryConfigSchema: z.ZodType<CanaryConfig, RawCanaryConfig> = RawCanarySchema.transform((c): CanaryConfig => {
  const out: CanaryConfig = { name: c.name, stable: c.stable, canary: c.canary, percent: c.percent };
  if (c.tenant !== undefined) out.tenant = c.tenant;
  if (c.slo !== undefined) {
    out.slo = {};
    if (c.slo.p95_ms !== undefined) out.slo.p95Ms = c.slo.p95_ms;
    if (c.slo.max_error_rate !== undefined) out.slo.maxErrorRate = c.slo.max_error_rate;
  }
  if (c.window_seconds !== undefined) out.windowSeconds = c.window_seconds;
  if (c.min_samples !== undefined) out.minSamples = c.min_samples;
  return out;
});

/**
 * A list of canaries, with the checks that need more than one entry: names are unique (they key
 * metrics and state), and no two canaries split the same model for the same tenant scope (which
 * one a request took would be arbitrary).
 */
export const CanaryListSchema: z.ZodType<CanaryConfig[], RawCanaryConfig[]> = z.array(CanaryConfigSchema).superRefine((list, ctx) => {
  for (const p of canaryConflicts(list)) ctx.addIssue({ code: 'custom', path: [p.index, p.field], message: p.message });
});

/** Duplicate names and overlapping splits, each reported at the later entry. */
export function canaryConflicts(list: readonly CanaryConfig[]): { index: number; field: 'name' | 'stable'; message: string }[] {
  const problems: { index: number; field: 'name' | 'stable'; message: string }[] = [];
  const names = new Map<string, number>();
  const scopes = new Map<string, number>();
  list.forEach((c, i) => {
    const prevName = names.get(c.name);
    if (prevName !== undefined) problems.push({ index: i, field: 'name', message: `duplicate canary name "${c.name}" (also entry ${prevName + 1})` });
    else names.set(c.name, i);
    const scope = `${c.tenant ?? '*'}\u0000${c.stable}`;
    const prevScope = scopes.get(scope);
    if (prevScope !== undefined) {
      const who = c.tenant === undefined ? 'every tenant' : `tenant ${c.tenant}`;
      problems.push({ index: i, field: 'stable', message: `"${c.stable}" for ${who} is already split by canary "${list[prevScope]!.name}"` });
    } else scopes.set(scope, i);
  });
  return problems;
}

export function resolveCanary(c: CanaryConfig): ResolvedCanary {
  return {
    name: c.name,
    tenant: c.tenant,
    stable: c.stable,
    canary: c.canary,
    percent: c.percent,
    p95Ms: c.slo?.p95Ms ?? CANARY_DEFAULTS.p95Ms,
    maxErrorRate: c.slo?.maxErrorRate ?? CANARY_DEFAULTS.maxErrorRate,
    windowSeconds: c.windowSeconds ?? CANARY_DEFAULTS.windowSeconds,
    minSamples: c.minSamples ?? CANARY_DEFAULTS.minSamples,
  };
}

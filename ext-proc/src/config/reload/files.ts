/**
 * The configuration files the processor reloads: the model catalog, the routing policies and the
 * tenant policies. They name each other (policies and tenants name catalog models, tenants name
 * policies), so they are always loaded together and checked against each other, at start and on
 * every reload alike: a catalog that drops a model a policy still names fails as a whole.
 */
import path from 'node:path';
import { loadCatalog, type Catalog } from '../../catalog/load.js';
import { loadRoutingConfig, type RoutingConfig } from '../../route/policy.js';
import { loadTenantPolicies, type TenantPolicy } from '../../tenants/policy.js';
import type { EnvConfig } from '../env.js';
import { repoRoot } from '../paths.js';

export interface ConfigFiles {
  catalog: string;
  routing: string;
  /** Absent: no tenant policies (every tenant gets the defaults). */
  tenants?: string;
}

export interface LoadedConfig {
  /** Every model, configured or not. */
  catalog: Catalog;
  routing: RoutingConfig;
  tenants: ReadonlyMap<string, TenantPolicy>;
}

/** CATALOG_PATH, ROUTING_PATH and TENANTS_PATH, with the defaults the processor has always used. */
export function configFiles(config: Pick<EnvConfig, 'CATALOG_PATH' | 'ROUTING_PATH' | 'TENANTS_PATH'>): ConfigFiles {
  const models = path.join(repoRoot(), 'models');
  const files: ConfigFiles = {
    catalog: config.CATALOG_PATH ?? path.join(models, 'catalog.yaml'),
    routing: config.ROUTING_PATH ?? path.join(models, 'routing.yaml'),
  };
  if (config.TENANTS_PATH) files.tenants = config.TENANTS_PATH;
  return files;
}

/** Loads all three; throws the first file's located error (`file:line:col: ...`) when one is invalid. */
export function loadConfigFiles(files: ConfigFiles): LoadedConfig {
  const catalog = loadCatalog(files.catalog);
  const resolveModel = (n: string) => catalog.find(n)?.id;
  const routing = loadRoutingConfig(files.routing, resolveModel, [...catalog.providers.keys()]);
  const tenants = loadTenantPolicies(files.tenants, {
    // Named explicitly, a missing tenants file is an error: it must not silently lift every limit.
    mustExist: files.tenants !== undefined,
    resolveModel,
    routingPolicies: [...routing.policies.keys()],
  });
  return { catalog, routing, tenants };
}

/** The files a change of which should reload the configuration. */
export function filesToWatch(files: ConfigFiles): string[] {
  return [files.catalog, files.routing, ...(files.tenants ? [files.tenants] : [])];
}

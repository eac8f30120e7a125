/**
 * One catalog update: read the catalog and a source, plan, report, and (asked to) rewrite the
 * catalog. The rewritten text is loaded with the catalog's own loader before it replaces the file,
 * and so are the routing and tenant policies that name its models, so a rewrite never leaves the
 * processor a catalog it would refuse (a running processor would keep its previous one, but the
 * next start would fail). The file is replaced by a rename: a watcher never reads half of it.
 */
import { chmodSync, existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCatalog, type Catalog } from '../load.js';
import { parseRoutingConfig } from '../../route/policy.js';
import { parseTenantPolicies } from '../../tenants/policy.js';
import { applyPlan, pinnedModels } from './edit.js';
import { planIsEmpty, planUpdate, type UpdatePlan } from './plan.js';
import { parseSourceText, readSource } from './read.js';
import { formatReport } from './report.js';
import { readSourceText } from './fetch.js';
import type { SourceFormat } from './source.js';

export interface UpdateOptions {
  /** Path or http(s) URL of the source. */
  from: string;
  /** Default: told from the document's shape. */
  format?: SourceFormat;
  catalogPath: string;
  /** Replace the catalog file (unless `dryRun`). */
  write?: boolean;
  /** Build and check the rewritten catalog, but leave the file as it is. */
  dryRun?: boolean;
  prune?: boolean;
  addNew?: boolean;
  /** Compare only these providers. */
  only?: readonly string[];
  verbose?: boolean;
  /** Files that must still load against the rewritten catalog. */
  companions?: { routing?: string; tenants?: string };
  /** Date for the note on added models (YYYY-MM-DD). */
  today?: string;
  fetchImpl?: typeof fetch;
}

export interface UpdateOutcome {
  plan: UpdatePlan;
  report: string;
  /** The rewrite would change the file. */
  changed: boolean;
  written: boolean;
}

/** A rewrite that would not load, or a bad option: the catalog file is left as it was. */
export class UpdateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpdateError';
  }
}

export async function updateCatalog(o: UpdateOptions): Promise<UpdateOutcome> {
  const text = readFileSync(o.catalogPath, 'utf8');
  const catalog = parseCatalog(text, o.catalogPath);
  for (const p of o.only ?? []) {
    if (!catalog.providers.has(p))
      throw new UpdateError(`--providers: "${p}" is not a provider of ${o.catalogPath} (${[...catalog.providers.keys()].join(', ')})`);
  }
  const json = parseSourceText(await readSourceText(o.from, o.fetchImpl), o.from);
  const source = readSource(json, new Set(catalog.providers.keys()), o.format);
  const plan = planUpdate(catalog, source, { only: o.only, pinned: pinnedModels(text) });
  let report = formatReport(plan, { source: o.from, catalog: o.catalogPath, prune: o.prune, addNew: o.addNew, verbose: o.verbose });

  if (planIsEmpty(plan, o)) return { plan, report: `${report}nothing to change\n`, changed: false, written: false };
  const edited = applyPlan(text, plan, {
    prune: o.prune,
    addNew: o.addNew,
    addedNote: `Added by models:update from ${o.from} on ${o.today ?? new Date().toISOString().slice(0, 10)}: review tier and capabilities.`,
  });
  checkLoads(edited.text, o);
  const written = o.write === true && o.dryRun !== true;
  if (written) replaceFile(o.catalogPath, edited.text);
  const what = `${edited.updated} model(s) updated, ${edited.added} added, ${edited.removed} removed`;
  report += written ? `written: ${what}\n` : `not written (${o.dryRun ? 'dry run' : 'pass --write'}): would be ${what}; the result loads\n`;
  return { plan, report, changed: true, written };
}

/** The rewritten catalog, and the policies naming its models, must load as the processor loads them. */
function checkLoads(text: string, o: UpdateOptions): Catalog {
  let catalog: Catalog;
  try {
    catalog = parseCatalog(text, o.catalogPath);
  } catch (err) {
    throw new UpdateError(`the rewritten catalog would not load, so it was not written:\n${err instanceof Error ? err.message : String(err)}`);
  }
  const resolve = (n: string) => catalog.find(n)?.id;
  const { routing, tenants } = o.companions ?? {};
  let policies: string[] | undefined;
  if (routing && existsSync(routing)) {
    try {
      policies = [...parseRoutingConfig(readFileSync(routing, 'utf8'), routing, resolve, [...catalog.providers.keys()]).policies.keys()];
    } catch (err) {
      throw new UpdateError(`${routing} would no longer load against the rewritten catalog, so it was not written:\n${errorText(err)}`);
    }
  }
  if (tenants && existsSync(tenants)) {
    try {
      parseTenantPolicies(readFileSync(tenants, 'utf8'), tenants, { resolveModel: resolve, ...(policies ? { routingPolicies: policies } : {}) });
    } catch (err) {
      throw new UpdateError(`${tenants} would no longer load against the rewritten catalog, so it was not written:\n${errorText(err)}`);
    }
  }
  return catalog;
}

/** Write beside, then rename over: readers see the old file or the new one, never a part. */
function replaceFile(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text, 'utf8');
    chmodSync(tmp, statSync(file).mode & 0o777);
    renameSync(tmp, file);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

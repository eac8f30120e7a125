/*
 * `npm run models:update -- --from <file|url> [options]`: compares the model catalog with a public
 * price list (LiteLLM's model_prices_and_context_window.json, or OpenRouter's /api/v1/models) and
 * prints what differs: price changes, context changes, new models, models the source no longer lists.
 * With --write it rewrites the catalog in place, keeping its comments and every hand-set field.
 *
 * Exit status: 0 done (changes or not), 1 failed (one message on stderr, the catalog untouched),
 * 2 usage error.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CatalogError } from '../ext-proc/src/catalog/load.js';
import { CatalogEditError } from '../ext-proc/src/catalog/update/edit.js';
import { SOURCE_FORMATS, SourceError, type SourceFormat } from '../ext-proc/src/catalog/update/source.js';
import { UpdateError, updateCatalog } from '../ext-proc/src/catalog/update/update.js';
import { repoRoot } from '../ext-proc/src/config/paths.js';

export interface Output {
  write(chunk: string): unknown;
}

const USAGE = `usage: npm run models:update -- --from <file|url> [options]

  --from F          LiteLLM's model_prices_and_context_window.json or OpenRouter's
                    /api/v1/models answer: a file, or an http(s) URL
  --format X        litellm | openrouter (default: told from the document)
  --catalog F       the catalog to compare and rewrite (default CATALOG_PATH, else models/catalog.yaml)
  --providers a,b   compare only these catalog providers (default: every provider with a key)
  --write           rewrite the catalog: prices, context windows and output limits
  --dry-run         build and check the rewrite, but leave the file as it is
  --add-new         with --write, also add the source's new models (tier and capabilities are guesses)
  --prune           with --write, also remove models the source no longer lists
  --verbose         list every new model and note

Only prices, context_window and max_output_tokens of existing models change; aliases, tier,
capabilities, fallbacks, comments and layout stay as written. Local backends (providers without
api_key_env) are never compared. The rewrite must load, with the routing policies (ROUTING_PATH,
else routing.yaml beside the catalog) and tenant policies (TENANTS_PATH) that name its models, or
nothing is written.
`;

const OPTIONS = {
  from: { type: 'string' },
  format: { type: 'string' },
  catalog: { type: 'string' },
  providers: { type: 'string' },
  write: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'add-new': { type: 'boolean' },
  prune: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const parse = (args: string[]) => parseArgs({ args, options: OPTIONS, allowPositionals: false }).values;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, out: Output, err: Output = process.stderr): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse([...argv]);
  } catch (e) {
    err.write(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  if (!values.from) {
    err.write(`--from is required\n\n${USAGE}`);
    return 2;
  }
  if (values.format !== undefined && !(SOURCE_FORMATS as readonly string[]).includes(values.format)) {
    err.write(`--format must be one of ${SOURCE_FORMATS.join(', ')}, got "${values.format}"\n`);
    return 2;
  }
  if ((values['add-new'] || values.prune) && !values.write && !values['dry-run']) {
    err.write('--add-new and --prune change the catalog: use them with --write (or --dry-run to see the result checked)\n');
    return 2;
  }
  const catalogPath = path.resolve(values.catalog ?? env.CATALOG_PATH ?? path.join(repoRoot(), 'models', 'catalog.yaml'));
  try {
    const outcome = await updateCatalog({
      from: values.from,
      format: values.format as SourceFormat | undefined,
      catalogPath,
      write: values.write,
      dryRun: values['dry-run'],
      prune: values.prune,
      addNew: values['add-new'],
      only: values.providers
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      verbose: values.verbose,
      companions: { routing: env.ROUTING_PATH ?? path.join(path.dirname(catalogPath), 'routing.yaml'), tenants: env.TENANTS_PATH },
    });
    out.write(outcome.report);
    return 0;
  } catch (e) {
    if (e instanceof SourceError || e instanceof UpdateError || e instanceof CatalogError || e instanceof CatalogEditError) {
      err.write(`models:update: ${e.message}\n`);
      return 1;
    }
    err.write(`models:update: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2), process.env, process.stdout).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`models:update: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

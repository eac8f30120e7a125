/*
 * `npm run keys -- <command>`: gateway keys and per-tenant provider credentials in Redis.
 *
 *   create --tenant T [--name N] [--expires 2027-01-01] [--models a,b]
 *          [--rpm N] [--tpm N] [--usd-per-day N] [--usd-per-month N]
 *                                   prints the new key (once: it cannot be recovered), then its record as JSON
 *   list [--tenant T]               prints key records, one JSON object a line (never keys)
 *   revoke <keyId>                  refuses the key from the next request on, on every replica
 *   set-credential --tenant T --provider P (--key K | --key-file F)
 *                                   stores the tenant's own provider key, encrypted (GATEWAY_MASTER_KEY[_FILE])
 *   delete-credential --tenant T --provider P
 *
 * Reads REDIS_URL (required), CATALOG_PATH (model and provider names are checked against it).
 * Exit status: 0 done, 1 failed (one line on stderr), 2 usage error.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Redis } from 'ioredis';
import { deleteCredential, loadMasterKey, storeCredential } from '../ext-proc/src/auth/credentials.js';
import { TENANT_NAME_RE } from '../ext-proc/src/auth/keys.js';
import { createKey, listKeys, revokeKey, type Limits } from '../ext-proc/src/auth/key-admin.js';
import { loadCatalog, type Catalog } from '../ext-proc/src/catalog/load.js';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { describeRedisUrl } from '../ext-proc/src/store/redis.js';

export interface Output {
  write(chunk: string): unknown;
}

const USAGE = `usage: npm run keys -- <command> [options]

  create --tenant T [--name N] [--expires 2027-01-01] [--models a,b]
         [--rpm N] [--tpm N] [--usd-per-day N] [--usd-per-month N]
      Creates a gateway key. Prints the key (shown once: store it now), then its record as JSON.
  list [--tenant T]
      Prints key records, one JSON object a line. Keys themselves are never stored or shown.
  revoke <keyId>
      Revokes a key (by the keyId that list shows); refused from the next request on.
  set-credential --tenant T --provider P (--key K | --key-file F)
      Stores the tenant's own API key for provider P, encrypted with GATEWAY_MASTER_KEY
      (or GATEWAY_MASTER_KEY_FILE). --key-file - reads it from standard input.
  delete-credential --tenant T --provider P

Environment: REDIS_URL (required), GATEWAY_MASTER_KEY / GATEWAY_MASTER_KEY_FILE (credentials),
CATALOG_PATH (default models/catalog.yaml; --models and --provider are checked against it).
`;

type Options = NonNullable<ParseArgsConfig['options']>;
const str = { type: 'string' } as const;

const COMMANDS: Record<string, { options: Options; positionals: number }> = {
  create: {
    options: { tenant: str, name: str, expires: str, models: str, rpm: str, tpm: str, 'usd-per-day': str, 'usd-per-month': str },
    positionals: 0,
  },
  list: { options: { tenant: str }, positionals: 0 },
  revoke: { options: {}, positionals: 1 },
  'set-credential': { options: { tenant: str, provider: str, key: str, 'key-file': str }, positionals: 0 },
  'delete-credential': { options: { tenant: str, provider: str }, positionals: 0 },
};

/** A failure to report as one line; `usage` ones exit 2. */
class CliError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, out: Output, err: Output = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? err : out).write(USAGE);
    return command === undefined ? 2 : 0;
  }
  let redis: Redis | undefined;
  try {
    const spec = COMMANDS[command];
    if (!spec) throw new CliError(`unknown command "${command}" (commands: ${Object.keys(COMMANDS).join(', ')}; --help for usage)`, true);
    let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...rest], options: spec.options, allowPositionals: spec.positionals > 0, strict: true });
    } catch (e) {
      // parseArgs explains itself over several lines; they read fine as one.
      throw new CliError(`${command}: ${(e instanceof Error ? e.message : String(e)).trim().replace(/\s*\n\s*/g, ' ')}`, true);
    }
    if (parsed.positionals.length !== spec.positionals) {
      throw new CliError(`${command}: expected ${spec.positionals} argument(s), got ${parsed.positionals.length}`, true);
    }
    const v = parsed.values as Record<string, string | undefined>;
    const need = (name: string): string => {
      const value = v[name];
      if (value === undefined || value === '') throw new CliError(`${command}: --${name} is required`, true);
      if (name === 'tenant' && !TENANT_NAME_RE.test(value)) {
        throw new CliError(`${command}: --tenant "${value}" may only use letters, digits, _ . - (max 64)`, true);
      }
      return value;
    };

    // Validate everything that does not need Redis before connecting.
    switch (command) {
      case 'create': {
        const tenant = need('tenant');
        const models = v.models !== undefined ? resolveModels(v.models, env) : undefined;
        const limits = readLimits(v);
        redis = await connect(env);
        const { key, record } = await createKey(redis, {
          tenant,
          ...(v.name !== undefined ? { name: v.name } : {}),
          ...(v.expires !== undefined ? { expiresAt: v.expires } : {}),
          ...(models ? { models } : {}),
          ...(limits ? { limits } : {}),
        });
        out.write(`${key}\n${JSON.stringify(record)}\n`);
        err.write(`Created key ${record.keyId} for tenant ${tenant}. Store the key now: it is shown only this once.\n`);
        return 0;
      }
      case 'list': {
        redis = await connect(env);
        const records = await listKeys(redis, v.tenant);
        for (const r of records) out.write(`${JSON.stringify(r)}\n`);
        if (records.length === 0) err.write(v.tenant !== undefined ? `no keys for tenant ${v.tenant}\n` : 'no keys\n');
        return 0;
      }
      case 'revoke': {
        const id = parsed.positionals[0]!;
        redis = await connect(env);
        if (!(await revokeKey(redis, id))) {
          // Not echoed unless it is a key id: what was given may be a (mistyped) clear key.
          throw new CliError(
            /^[0-9a-f]{12}$/.test(id) ? `revoke: no key with id ${id}` : 'revoke: no such key (give the 12-hex-digit keyId that `list` shows)',
          );
        }
        out.write(`revoked ${/^[0-9a-f]{12}$/.test(id) ? id : 'key'}\n`);
        return 0;
      }
      case 'set-credential': {
        const tenant = need('tenant');
        const provider = checkProvider(need('provider'), env);
        if ((v.key === undefined) === (v['key-file'] === undefined)) throw new CliError('set-credential: give exactly one of --key or --key-file', true);
        const secret = v.key ?? readSecretFile(v['key-file']!);
        const masterKey = loadMasterKey(env);
        if (!masterKey) throw new CliError('set-credential: GATEWAY_MASTER_KEY or GATEWAY_MASTER_KEY_FILE is required to encrypt credentials');
        redis = await connect(env);
        await storeCredential(redis, tenant, provider, secret, masterKey);
        out.write(`stored credential for tenant ${tenant}, provider ${provider} (encrypted)\n`);
        return 0;
      }
      case 'delete-credential': {
        const tenant = need('tenant');
        const provider = need('provider');
        redis = await connect(env);
        if (!(await deleteCredential(redis, tenant, provider)))
          throw new CliError(`delete-credential: tenant ${tenant} has no credential for provider ${provider}`);
        out.write(`deleted credential for tenant ${tenant}, provider ${provider}\n`);
        return 0;
      }
      default:
        throw new CliError(`unknown command "${command}"`, true);
    }
  } catch (e) {
    err.write(`keys: ${firstLine(e)}\n`);
    return e instanceof CliError && e.usage ? 2 : 1;
  } finally {
    if (redis) {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    }
  }
}

function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const lines = message.split('\n').filter((l) => l.trim() !== '');
  return lines.length > 1 ? `${lines[0]} (and ${lines.length - 1} more line(s))` : (lines[0] ?? 'failed');
}

async function connect(env: NodeJS.ProcessEnv): Promise<Redis> {
  const url = env.REDIS_URL;
  if (!url) throw new CliError("REDIS_URL is not set: point it at the gateway's Redis, e.g. REDIS_URL=redis://127.0.0.1:6379");
  let where: string;
  try {
    where = describeRedisUrl(url);
  } catch (e) {
    throw new CliError(firstLine(e));
  }
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    commandTimeout: 10_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null, // one attempt: a CLI reports, it does not wait
    reconnectOnError: null,
  });
  let lastError: string | undefined;
  redis.on('error', (e: Error) => {
    lastError = e.message;
  });
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    throw new CliError(`cannot reach Redis at ${where}: ${lastError ?? firstLine(e)}`);
  }
  return redis;
}

function loadCatalogFor(env: NodeJS.ProcessEnv): { catalog: Catalog; file: string } {
  const file = env.CATALOG_PATH ?? path.join(repoRoot(), 'models', 'catalog.yaml');
  try {
    return { catalog: loadCatalog(file), file };
  } catch (e) {
    throw new CliError(`cannot load the model catalog to check names: ${firstLine(e)}`);
  }
}

/** `a,b` → catalog ids (aliases resolved), refusing names the catalog does not know. */
function resolveModels(list: string, env: NodeJS.ProcessEnv): string[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new CliError('create: --models needs at least one model name', true);
  const { catalog, file } = loadCatalogFor(env);
  return names.map((n) => {
    const m = catalog.find(n);
    if (!m) throw new CliError(`create: --models: unknown model "${n}" (not in ${path.relative(process.cwd(), file) || file})`);
    return m.id;
  });
}

function checkProvider(provider: string, env: NodeJS.ProcessEnv): string {
  const { catalog } = loadCatalogFor(env);
  if (!catalog.providers.has(provider)) {
    throw new CliError(`set-credential: unknown provider "${provider}" (known: ${[...catalog.providers.keys()].join(', ')})`);
  }
  return provider;
}

function readLimits(v: Record<string, string | undefined>): Limits | undefined {
  const limits: Limits = {};
  const num = (flag: string, integer: boolean): number | undefined => {
    const raw = v[flag];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new CliError(`create: --${flag} must be a positive ${integer ? 'whole ' : ''}number, got "${raw}"`, true);
    }
    return n;
  };
  const rpm = num('rpm', true);
  const tpm = num('tpm', true);
  const usdPerDay = num('usd-per-day', false);
  const usdPerMonth = num('usd-per-month', false);
  if (rpm !== undefined) limits.rpm = rpm;
  if (tpm !== undefined) limits.tpm = tpm;
  if (usdPerDay !== undefined) limits.usdPerDay = usdPerDay;
  if (usdPerMonth !== undefined) limits.usdPerMonth = usdPerMonth;
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/** The secret from a file (`-` = standard input), without its trailing newline. */
function readSecretFile(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new CliError(`set-credential: cannot read --key-file ${file}: ${(e as NodeJS.ErrnoException).code ?? firstLine(e)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2), process.env, process.stdout).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`keys: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../test/helpers/redis-server.js';
import { loadMasterKey, readCredential } from '../ext-proc/src/auth/credentials.js';
import { createRedisKeyDirectory } from '../ext-proc/src/auth/key-directory.js';
import { main } from './keys.js';

function sink() {
  let text = '';
  return {
    write(chunk: string) {
      text += chunk;
      return true;
    },
    get text() {
      return text;
    },
  };
}

async function run(argv: string[], env: NodeJS.ProcessEnv) {
  const out = sink();
  const err = sink();
  const code = await main(argv, env, out, err);
  return { code, out: out.text, err: err.text };
}

describe('keys CLI', () => {
  let server: RedisServerHandle;
  let admin: Redis;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  const masterKey = randomBytes(32).toString('base64');

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
    dir = mkdtempSync(path.join(tmpdir(), 'keys-cli-'));
    env = { REDIS_URL: server.url, GATEWAY_MASTER_KEY: masterKey };
  });
  beforeEach(async () => {
    await admin.flushdb();
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('create prints the key once and the record; the key then authenticates; list shows no key; revoke ends it', async () => {
    const created = await run(
      [
        'create',
        '--tenant',
        'acme',
        '--name',
        'ci',
        '--expires',
        '2099-01-01',
        '--models',
        'gpt-4o-mini, llama-3.3-70b',
        '--rpm',
        '60',
        '--tpm',
        '100000',
        '--usd-per-day',
        '5',
        '--usd-per-month',
        '50.5',
      ],
      env,
    );
    expect(created.code, created.err).toBe(0);
    const [key, json, extra] = created.out.split('\n');
    expect(key).toMatch(/^gw-[A-Za-z0-9_-]{43}$/);
    expect(extra).toBe('');
    const record = JSON.parse(json!) as Record<string, unknown>;
    expect(record).toMatchObject({
      tenant: 'acme',
      name: 'ci',
      expiresAt: '2099-01-01T00:00:00.000Z',
      revoked: false,
      // the alias is stored as the catalog id
      models: ['gpt-4o-mini', 'llama-3.3-70b-versatile'],
      limits: { rpm: 60, tpm: 100000, usdPerDay: 5, usdPerMonth: 50.5 },
    });
    expect(Object.keys(record).slice(0, 2)).toEqual(['tenant', 'keyId']);
    expect(created.err).toMatch(/shown only this once/);
    expect(created.err).not.toContain(key!);

    const directory = createRedisKeyDirectory({ url: server.url, log: pino({ level: 'silent' }) });
    try {
      for (let i = 0; i < 100 && !directory.healthy(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(await directory.lookup(key!)).toMatchObject({ tenant: 'acme', keyId: record.keyId });

      const listed = await run(['list'], env);
      expect(listed.code).toBe(0);
      expect(
        listed.out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { keyId: string }),
      ).toEqual([record]);
      expect(listed.out).not.toContain(key!.slice(3));
      expect((await run(['list', '--tenant', 'acme'], env)).out).toBe(listed.out);
      const none = await run(['list', '--tenant', 'globex'], env);
      expect([none.code, none.out, none.err]).toEqual([0, '', 'no keys for tenant globex\n']);

      const revoked = await run(['revoke', record.keyId as string], env);
      expect([revoked.code, revoked.out]).toEqual([0, `revoked ${String(record.keyId)}\n`]);
      expect(await directory.lookup(key!)).toBeUndefined();
      expect(JSON.parse((await run(['list'], env)).out) as { revoked: boolean }).toMatchObject({ revoked: true });
    } finally {
      await directory.close();
    }
  });

  it('revoke of an unknown id fails with one line', async () => {
    const r = await run(['revoke', 'abcdefabcdef'], env);
    expect([r.code, r.out, r.err]).toEqual([1, '', 'keys: revoke: no key with id abcdefabcdef\n']);
  });

  it('set-credential / delete-credential store the credential encrypted', async () => {
    const secret = 'sk-tenant-own-key-0123456789';
    const set = await run(['set-credential', '--tenant', 'acme', '--provider', 'openai', '--key', secret], env);
    expect([set.code, set.out]).toEqual([0, 'stored credential for tenant acme, provider openai (encrypted)\n']);
    expect(set.out + set.err).not.toContain(secret);
    const stored = await admin.get('llmgw:cred:acme:openai');
    expect(stored).toMatch(/^v1:/);
    expect(stored).not.toContain(secret);
    expect(await readCredential(admin, 'acme', 'openai', loadMasterKey(env)!)).toBe(secret);

    const file = path.join(dir, 'groq.key');
    writeFileSync(file, 'gsk_from_file_123\n');
    expect((await run(['set-credential', '--tenant', 'acme', '--provider', 'groq', '--key-file', file], env)).code).toBe(0);
    expect(await readCredential(admin, 'acme', 'groq', loadMasterKey(env)!)).toBe('gsk_from_file_123');

    const del = await run(['delete-credential', '--tenant', 'acme', '--provider', 'openai'], env);
    expect([del.code, del.out]).toEqual([0, 'deleted credential for tenant acme, provider openai\n']);
    expect(await admin.exists('llmgw:cred:acme:openai')).toBe(0);
    const again = await run(['delete-credential', '--tenant', 'acme', '--provider', 'openai'], env);
    expect([again.code, again.err]).toEqual([1, 'keys: delete-credential: tenant acme has no credential for provider openai\n']);
  });

  it('errors: one line on stderr, non-zero exit, nothing on stdout', async () => {
    const cases: [string[], NodeJS.ProcessEnv, number, RegExp][] = [
      [['create', '--tenant', 'acme'], {}, 1, /^keys: REDIS_URL is not set/],
      [['list'], { REDIS_URL: 'http://x' }, 1, /^keys: REDIS_URL must use redis:\/\//],
      [['create'], env, 2, /^keys: create: --tenant is required$/],
      [['create', '--tenant', 'bad tenant'], env, 2, /--tenant "bad tenant" may only use/],
      [['create', '--tenant', 'acme', '--rpm', 'lots'], env, 2, /^keys: create: --rpm must be a positive whole number, got "lots"$/],
      [['create', '--tenant', 'acme', '--usd-per-day=-1'], env, 2, /--usd-per-day must be a positive number, got "-1"$/],
      [['create', '--tenant', 'acme', '--usd-per-day', '-1'], env, 2, /argument is ambiguous\. Did you forget .* use '--usd-per-day=-XYZ'\.$/],
      [['create', '--tenant', 'acme', '--models', 'gpt-5-turbo-max'], env, 1, /unknown model "gpt-5-turbo-max"/],
      [['create', '--tenant', 'acme', '--expires', '2001-01-01'], env, 1, /not in the future/],
      [['create', '--tenant', 'acme', '--bogus'], env, 2, /^keys: create: Unknown option '--bogus'/],
      [['revoke'], env, 2, /^keys: revoke: expected 1 argument\(s\), got 0$/],
      [['revoke', 'gw-not-a-real-key'], env, 1, /^keys: revoke: no such key \(give the 12-hex-digit keyId that `list` shows\)$/],
      [['frobnicate'], env, 2, /^keys: unknown command "frobnicate"/],
      [['set-credential', '--tenant', 'acme', '--provider', 'openai'], env, 2, /exactly one of --key or --key-file/],
      [['set-credential', '--tenant', 'acme', '--provider', 'nope', '--key', 'sk-x'], env, 1, /unknown provider "nope" \(known: /],
      [
        ['set-credential', '--tenant', 'acme', '--provider', 'openai', '--key', 'sk-x'],
        { REDIS_URL: env.REDIS_URL },
        1,
        /GATEWAY_MASTER_KEY or GATEWAY_MASTER_KEY_FILE is required/,
      ],
      [
        ['set-credential', '--tenant', 'acme', '--provider', 'openai', '--key', 'sk-x'],
        { ...env, GATEWAY_MASTER_KEY: 'short' },
        1,
        /GATEWAY_MASTER_KEY must be 32 bytes/,
      ],
      [['set-credential', '--tenant', 'acme', '--provider', 'openai', '--key-file', '/nonexistent'], env, 1, /cannot read --key-file \/nonexistent: ENOENT/],
    ];
    for (const [argv, e, code, pattern] of cases) {
      const r = await run(argv, e);
      expect({ argv, code: r.code, out: r.out }).toEqual({ argv, code, out: '' });
      expect(r.err.trimEnd(), argv.join(' ')).toMatch(pattern);
      expect(r.err.trimEnd().split('\n'), argv.join(' ')).toHaveLength(1);
    }
    expect(await admin.dbsize()).toBe(0);
  });

  it('an unreachable Redis is a clear one-line error, quickly', async () => {
    const started = Date.now();
    const r = await run(['list'], { REDIS_URL: 'redis://:hunter2@127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^keys: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect(r.err).not.toContain('hunter2');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('help and no arguments', async () => {
    const help = await run(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: npm run keys/);
    const none = await run([], {});
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/^usage:/);
  });
});

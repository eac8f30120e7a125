import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import {
  CredentialError,
  credentialRedisKey,
  decryptCredential,
  deleteCredential,
  encryptCredential,
  loadMasterKey,
  masterKeyFrom,
  readCredential,
  storeCredential,
} from './credentials.js';

const SECRET = 'sk-proj-THIS-IS-A-TEST-SECRET-0123456789';

describe('loadMasterKey', () => {
  const raw = randomBytes(32);
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mk-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts hex, base64 and base64url of 32 bytes, all giving the same key', () => {
    const blob = encryptCredential(masterKeyFrom(raw), 'acme', 'openai', SECRET);
    for (const text of [
      raw.toString('hex'),
      raw.toString('hex').toUpperCase(),
      raw.toString('base64'),
      raw.toString('base64url'),
      ` ${raw.toString('base64')}\n`,
    ]) {
      const mk = loadMasterKey({ GATEWAY_MASTER_KEY: text });
      expect(mk).toBeDefined();
      expect(decryptCredential(mk!, 'acme', 'openai', blob)).toBe(SECRET);
    }
  });

  it('reads a file holding text or 32 raw bytes', () => {
    const blob = encryptCredential(masterKeyFrom(raw), 'acme', 'openai', SECRET);
    const textFile = path.join(dir, 'key.txt');
    writeFileSync(textFile, `${raw.toString('base64')}\n`);
    expect(decryptCredential(loadMasterKey({ GATEWAY_MASTER_KEY_FILE: textFile })!, 'acme', 'openai', blob)).toBe(SECRET);
    const rawFile = path.join(dir, 'key.bin');
    writeFileSync(rawFile, raw);
    expect(decryptCredential(loadMasterKey({ GATEWAY_MASTER_KEY_FILE: rawFile })!, 'acme', 'openai', blob)).toBe(SECRET);
  });

  it('none set: undefined; bad values: a clear error', () => {
    expect(loadMasterKey({})).toBeUndefined();
    expect(() => loadMasterKey({ GATEWAY_MASTER_KEY: 'too-short' })).toThrow(/GATEWAY_MASTER_KEY must be 32 bytes/);
    expect(() => loadMasterKey({ GATEWAY_MASTER_KEY: randomBytes(16).toString('hex') })).toThrow(CredentialError);
    expect(() => loadMasterKey({ GATEWAY_MASTER_KEY: raw.toString('hex'), GATEWAY_MASTER_KEY_FILE: '/x' })).toThrow(/not both/);
    expect(() => loadMasterKey({ GATEWAY_MASTER_KEY_FILE: path.join(dir, 'missing') })).toThrow(/cannot read .*ENOENT/);
    const bad = path.join(dir, 'bad');
    writeFileSync(bad, 'nope\n');
    expect(() => loadMasterKey({ GATEWAY_MASTER_KEY_FILE: bad })).toThrow(/must hold 32 bytes/);
  });
});

describe('encrypt / decrypt', () => {
  const mk = masterKeyFrom(randomBytes(32));

  it('round trips, with the v1:<iv>:<tag>:<ciphertext> format and a fresh IV each time', () => {
    const a = encryptCredential(mk, 'acme', 'openai', SECRET);
    const b = encryptCredential(mk, 'acme', 'openai', SECRET);
    expect(a).toMatch(/^v1:[A-Za-z0-9+/=]{16}:[A-Za-z0-9+/=]{24}:[A-Za-z0-9+/=]+$/);
    expect(Buffer.from(a.split(':')[1]!, 'base64')).toHaveLength(12);
    expect(a).not.toBe(b);
    expect(a).not.toContain(SECRET);
    expect(decryptCredential(mk, 'acme', 'openai', a)).toBe(SECRET);
    expect(decryptCredential(mk, 'acme', 'openai', b)).toBe(SECRET);
  });

  it('AAD binds the blob to its tenant and provider', () => {
    const blob = encryptCredential(mk, 'acme', 'openai', SECRET);
    expect(() => decryptCredential(mk, 'globex', 'openai', blob)).toThrow(/tenant globex, provider openai: cannot decrypt/);
    expect(() => decryptCredential(mk, 'acme', 'groq', blob)).toThrow(CredentialError);
    // "ac" + "me:openai" vs "acme" + ":openai": names are length-delimited, not concatenated.
    expect(() => decryptCredential(mk, 'ac', 'me', encryptCredential(mk, 'a', 'cme', SECRET))).toThrow(CredentialError);
  });

  it('a tampered IV, tag or ciphertext fails without revealing anything', () => {
    const blob = encryptCredential(mk, 'acme', 'openai', SECRET);
    const [v, iv, tag, ct] = blob.split(':') as [string, string, string, string];
    const flip = (b64: string, at = 0) => {
      const buf = Buffer.from(b64, 'base64');
      buf[at] = buf[at]! ^ 1;
      return buf.toString('base64');
    };
    for (const tampered of [
      [v, flip(iv), tag, ct],
      [v, iv, flip(tag), ct],
      [v, iv, tag, flip(ct)],
      [v, iv, tag, flip(ct, Buffer.from(ct, 'base64').length - 1)],
    ]) {
      let message = '';
      try {
        decryptCredential(mk, 'acme', 'openai', tampered.join(':'));
      } catch (err) {
        expect(err).toBeInstanceOf(CredentialError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/cannot decrypt — wrong master key, or the stored value was altered/);
      expect(message).not.toContain(SECRET.slice(3, 12));
    }
  });

  it('a truncated tag, a wrong version or a malformed blob is refused', () => {
    const blob = encryptCredential(mk, 'acme', 'openai', SECRET);
    const [v, iv, tag, ct] = blob.split(':') as [string, string, string, string];
    const shortTag = Buffer.from(tag, 'base64').subarray(0, 4).toString('base64');
    expect(() => decryptCredential(mk, 'acme', 'openai', [v, iv, shortTag, ct].join(':'))).toThrow(/malformed/);
    expect(() => decryptCredential(mk, 'acme', 'openai', ['v2', iv, tag, ct].join(':'))).toThrow(/not a v1 encrypted credential/);
    expect(() => decryptCredential(mk, 'acme', 'openai', 'garbage')).toThrow(/not a v1/);
    expect(() => decryptCredential(mk, 'acme', 'openai', `v1:${iv}:${tag}:`)).toThrow(/malformed/);
  });

  it('a wrong master key fails', () => {
    const blob = encryptCredential(mk, 'acme', 'openai', SECRET);
    expect(() => decryptCredential(masterKeyFrom(randomBytes(32)), 'acme', 'openai', blob)).toThrow(/wrong master key/);
  });

  it('refuses bad names and credentials with whitespace', () => {
    expect(() => encryptCredential(mk, 'acme corp', 'openai', SECRET)).toThrow(/tenant "acme corp"/);
    expect(() => encryptCredential(mk, 'acme', 'OpenAI', SECRET)).toThrow(/provider "OpenAI"/);
    expect(() => encryptCredential(mk, 'acme', 'openai', 'sk-abc\n')).toThrow(/no whitespace/);
    expect(() => encryptCredential(mk, 'acme', 'openai', '')).toThrow(CredentialError);
  });
});

describe('credentials in Redis', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  const mk = masterKeyFrom(randomBytes(32));

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('store → read → delete, stored encrypted under llmgw:cred:<tenant>:<provider>', async () => {
    await storeCredential(redis, 'acme', 'openai', SECRET, mk);
    const stored = await redis.get('llmgw:cred:acme:openai');
    expect(stored).toMatch(/^v1:/);
    expect(stored).not.toContain(SECRET);
    expect(credentialRedisKey('acme', 'openai')).toBe('llmgw:cred:acme:openai');
    expect(await readCredential(redis, 'acme', 'openai', mk)).toBe(SECRET);
    expect(await readCredential(redis, 'acme', 'groq', mk)).toBeUndefined();
    expect(await deleteCredential(redis, 'acme', 'openai')).toBe(true);
    expect(await deleteCredential(redis, 'acme', 'openai')).toBe(false);
    expect(await readCredential(redis, 'acme', 'openai', mk)).toBeUndefined();
  });

  it('a blob copied to another tenant slot does not decrypt there', async () => {
    await storeCredential(redis, 'acme', 'openai', SECRET, mk);
    await redis.set('llmgw:cred:globex:openai', (await redis.get('llmgw:cred:acme:openai'))!);
    await expect(readCredential(redis, 'globex', 'openai', mk)).rejects.toThrow(/tenant globex, provider openai: cannot decrypt/);
    await expect(readCredential(redis, 'acme', 'openai', masterKeyFrom(randomBytes(32)))).rejects.toThrow(/wrong master key/);
  });
});

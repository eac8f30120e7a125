/**
 * Per-tenant provider credentials (a tenant's own OpenAI key, …), encrypted at rest in Redis.
 *
 *   llmgw:cred:<tenant>:<provider>  =  v1:<iv b64>:<tag b64>:<ciphertext b64>
 *
 * AES-256-GCM, a random 12-byte IV per write, a 16-byte tag. The additional authenticated data
 * names the tenant and the provider, so a blob copied to another tenant's (or provider's) slot
 * does not decrypt. The AES key is derived from the 32-byte master key (GATEWAY_MASTER_KEY or
 * GATEWAY_MASTER_KEY_FILE) with HKDF-SHA256 for this one purpose, so the master key can later
 * serve other purposes without two uses sharing a key.
 *
 * Failures (wrong master key, altered or moved blob) raise CredentialError, whose message names
 * the tenant and provider and never includes plaintext, ciphertext or key material.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { PROVIDER_ID_RE } from '../catalog/schema.js';
import { TENANT_NAME_RE } from './keys.js';

export class CredentialError extends Error {
  override name = 'CredentialError';
}

/** The master key in usable form; opaque to callers. */
export interface MasterKey {
  /** The AES-256 key derived for credentials. */
  readonly credentialKey: Buffer;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_INFO = 'llmgw credentials v1';

export const credentialRedisKey = (tenant: string, provider: string) => `llmgw:cred:${tenant}:${provider}`;

/**
 * Reads the master key from GATEWAY_MASTER_KEY (64 hex digits, or base64/base64url of 32 bytes) or
 * GATEWAY_MASTER_KEY_FILE (the same text, or exactly 32 raw bytes). Undefined when neither is set
 * (per-tenant credentials are then unavailable); throws CredentialError when set but unusable.
 */
export function loadMasterKey(env: NodeJS.ProcessEnv): MasterKey | undefined {
  const inline = env.GATEWAY_MASTER_KEY;
  const file = env.GATEWAY_MASTER_KEY_FILE;
  if (inline && file) throw new CredentialError('set GATEWAY_MASTER_KEY or GATEWAY_MASTER_KEY_FILE, not both');
  if (inline) {
    const raw = decodeKeyText(inline.trim());
    if (!raw) throw new CredentialError('GATEWAY_MASTER_KEY must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)');
    return masterKeyFrom(raw);
  }
  if (file) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw new CredentialError(`GATEWAY_MASTER_KEY_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const raw = decodeKeyText(bytes.toString('latin1').trim()) ?? (bytes.length === 32 ? bytes : undefined);
    if (!raw) throw new CredentialError(`GATEWAY_MASTER_KEY_FILE ${file} must hold 32 bytes: raw, 64 hex digits, or base64`);
    return masterKeyFrom(raw);
  }
  return undefined;
}

/** A master key from 32 raw bytes (tests, or callers holding the key some other way). */
export function masterKeyFrom(raw: Buffer): MasterKey {
  if (raw.length !== 32) throw new CredentialError(`the master key must be 32 bytes, got ${raw.length}`);
  const credentialKey = Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), HKDF_INFO, 32));
  return Object.freeze({ credentialKey });
}

function decodeKeyText(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text) || /^[A-Za-z0-9_-]{43}$/.test(text)) {
    const raw = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
    return raw.length === 32 ? raw : undefined;
  }
  return undefined;
}

function aad(tenant: string, provider: string): Buffer {
  // Neither name can contain NUL, so the encoding is unambiguous.
  return Buffer.from(`llmgw:cred:${VERSION}\0${tenant}\0${provider}`, 'utf8');
}

function checkNames(tenant: string, provider: string): void {
  if (!TENANT_NAME_RE.test(tenant)) throw new CredentialError(`tenant "${tenant}" may only use letters, digits, _ . - (max 64)`);
  if (!PROVIDER_ID_RE.test(provider) || provider.length > 64) {
    throw new CredentialError(`provider "${provider}" must be a catalog provider id (lowercase letters, digits, - and _)`);
  }
}

export function encryptCredential(masterKey: MasterKey, tenant: string, provider: string, plaintext: string): string {
  checkNames(tenant, provider);
  // Provider keys are single tokens; whitespace or control characters would be a paste accident or
  // a header injection waiting to happen.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (plaintext.length === 0 || plaintext.length > 4096 || /[\s\u0000-\u001f\u007f]/.test(plaintext)) {
    throw new CredentialError('the credential must be 1-4096 characters with no whitespace or control characters');
  }
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey.credentialKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(tenant, provider));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join(':');
}

export function decryptCredential(masterKey: MasterKey, tenant: string, provider: string, blob: string): string {
  checkNames(tenant, provider);
  const what = `credential for tenant ${tenant}, provider ${provider}`;
  const parts = blob.split(':');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new CredentialError(`${what}: stored value is not a ${VERSION} encrypted credential`);
  const [, ivB64, tagB64, ctB64] = parts as [string, string, string, string];
  const b64 = /^[A-Za-z0-9+/]*={0,2}$/;
  if (!b64.test(ivB64) || !b64.test(tagB64) || !b64.test(ctB64)) throw new CredentialError(`${what}: stored value is malformed`);
  const iv = Buffer.from(ivB64, 'base64');
  const tag = Buffer.from(tagB64, 'base64');
  const ciphertext = Buffer.from(ctB64, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES || ciphertext.length === 0) {
    throw new CredentialError(`${what}: stored value is malformed`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey.credentialKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(tenant, provider));
    decipher.setAuthTag(tag);
    // Nothing decrypted is returned (or kept) unless final() has verified the tag.
    const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return plain.toString('utf8');
  } catch {
    throw new CredentialError(`${what}: cannot decrypt — wrong master key, or the stored value was altered or belongs to another tenant/provider`);
  }
}

/** Encrypts and stores (replacing any previous credential of this tenant and provider). */
export async function storeCredential(redis: Redis, tenant: string, provider: string, plaintext: string, masterKey: MasterKey): Promise<void> {
  const blob = encryptCredential(masterKey, tenant, provider, plaintext);
  await redis.set(credentialRedisKey(tenant, provider), blob);
}

/** The tenant's credential for the provider; undefined when it has none. Throws CredentialError if it cannot be decrypted. */
export async function readCredential(redis: Redis, tenant: string, provider: string, masterKey: MasterKey): Promise<string | undefined> {
  checkNames(tenant, provider);
  const blob = await redis.get(credentialRedisKey(tenant, provider));
  if (blob === null) return undefined;
  return decryptCredential(masterKey, tenant, provider, blob);
}

/** True when there was a credential to delete. */
export async function deleteCredential(redis: Redis, tenant: string, provider: string): Promise<boolean> {
  checkNames(tenant, provider);
  return (await redis.del(credentialRedisKey(tenant, provider))) === 1;
}

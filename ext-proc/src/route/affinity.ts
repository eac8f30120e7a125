import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ComplexityTier } from '../classify/types.js';
import type { CanonicalRequest } from '../providers/canonical/types.js';

/**
 * Conversation affinity: the turns of one conversation stay on one model, so answers don't bounce
 * between models, unless the conversation's tier rises. A conversation is known by its opening
 * (system prompt and first user turn), which every later turn repeats.
 */
export class Affinity {
  private readonly seen = new LRUCache<string, { model: string; tier: ComplexityTier }>({ max: 100_000, ttl: 3_600_000 });

  get(key: string): { model: string; tier: ComplexityTier } | undefined {
    return this.seen.get(key);
  }

  set(key: string, model: string, tier: ComplexityTier): void {
    this.seen.set(key, { model, tier });
  }
}

/** Tenant-scoped key of a conversation's opening; undefined for a single-turn call (nothing to keep). */
export function conversationKey(tenant: string, req: CanonicalRequest): string | undefined {
  const first = req.messages.find((m) => m.role === 'user');
  if (!first) return undefined;
  const h = createHash('sha256')
    .update(tenant)
    .update('\0')
    .update(req.system ?? '')
    .update('\0');
  for (const p of first.content) if (p.type === 'text') h.update(p.text);
  return h.digest('base64url').slice(0, 22);
}

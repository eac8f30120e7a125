import { describe, expect, it } from 'vitest';
import { HIDDEN_UPSTREAM_HEADERS } from './upstream-headers.js';

describe('HIDDEN_UPSTREAM_HEADERS: the platform account stays with the gateway', () => {
  it("hides every provider's rate-limit, organisation and cookie headers", () => {
    for (const h of [
      'x-ratelimit-remaining-requests',
      'x-ratelimit-limit-tokens',
      'anthropic-ratelimit-requests-limit',
      'anthropic-ratelimit-input-tokens-remaining',
      'anthropic-ratelimit-output-tokens-reset',
      'anthropic-ratelimit-tokens-remaining',
      'openai-organization',
      'openai-project',
      'set-cookie',
    ]) {
      expect(HIDDEN_UPSTREAM_HEADERS.test(h), h).toBe(true);
    }
  });

  it("lets the answer's own headers through", () => {
    for (const h of ['content-type', 'openai-processing-ms', 'request-id', 'x-request-id', 'retry-after', 'openai-organization-id']) {
      expect(HIDDEN_UPSTREAM_HEADERS.test(h), h).toBe(false);
    }
  });
});

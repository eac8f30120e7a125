/**
 * Response headers of a provider that describe the platform's account with it (its rate limits,
 * organisation, cookies), not the caller's: they never reach the caller. The gateway's own
 * `x-ratelimit-*` quota headers replace the provider's.
 */
export const HIDDEN_UPSTREAM_HEADERS = /^(?:x-ratelimit-|anthropic-ratelimit-|openai-organization$|openai-project$|set-cookie$)/;

/** Token usage in the gateway's own terms, whatever API reported it. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Part of inputTokens served from the provider's prompt cache (billed at the cached price). */
  cachedInputTokens: number;
  /** Part of outputTokens spent on hidden reasoning, where the provider reports it. */
  reasoningTokens: number;
}

/** Google API error bodies, as the Gemini API sends them. */

export interface GoogleErrorBody {
  error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> };
}

export function googleError(code: number, status: string, message: string, details?: Array<Record<string, unknown>>): GoogleErrorBody {
  return { error: { code, message, status, ...(details ? { details } : {}) } };
}

export const API_KEY_INVALID_MESSAGE = 'API key not valid. Please pass a valid API key.';

/** What Gemini answers a request with a wrong key: 400, not 401. */
export function apiKeyInvalid(): GoogleErrorBody {
  return googleError(400, 'INVALID_ARGUMENT', API_KEY_INVALID_MESSAGE, [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'API_KEY_INVALID',
      domain: 'googleapis.com',
      metadata: { service: 'generativelanguage.googleapis.com' },
    },
  ]);
}

/** What Gemini answers a request with no key at all. */
export function missingApiKey(): GoogleErrorBody {
  return googleError(
    403,
    'PERMISSION_DENIED',
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
  );
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The google.rpc code name Google uses for an HTTP status. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT');
}

/** Body of an injected failure with the given status. */
export function injectedErrorBody(code: number): GoogleErrorBody {
  switch (code) {
    case 429:
      return googleError(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details (simulated).', [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel' }],
        },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
      ]);
    case 500:
      return googleError(
        500,
        'INTERNAL',
        'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
      );
    case 503:
      return googleError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
    case 504:
      return googleError(504, 'DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.');
    default:
      return googleError(code, statusName(code), `Simulated error (status ${code}).`);
  }
}

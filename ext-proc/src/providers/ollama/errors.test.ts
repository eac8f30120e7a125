import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { parseOllamaError, renderOllamaError } from './errors.js';

describe('renderOllamaError', () => {
  it('is {"error": message}, whatever the kind', () => {
    expect(JSON.parse(renderOllamaError(new GatewayError('rate_limit', 'Too many requests.', { retryAfterSeconds: 3 })))).toEqual({
      error: 'Too many requests.',
    });
    expect(JSON.parse(renderOllamaError(new GatewayError('invalid_request', "Invalid value for 'model'", { param: 'model' })))).toEqual({
      error: "Invalid value for 'model'",
    });
  });

  it('escapes quotes and newlines into valid JSON', () => {
    const text = renderOllamaError(new GatewayError('not_found', 'model "x"\nnot found'));
    expect(JSON.parse(text)).toEqual({ error: 'model "x"\nnot found' });
  });
});

describe('parseOllamaError', () => {
  it('the documented not-found body', () => {
    const body = readFileSync(new URL('./fixtures/error-404.json', import.meta.url), 'utf8');
    expect(parseOllamaError(body)).toEqual({ message: 'model "llama3.3" not found, try pulling it first' });
  });

  it('the busy answer', () => {
    expect(parseOllamaError('{"error":"server busy, please try again.  maximum pending requests exceeded"}')).toEqual({
      message: 'server busy, please try again.  maximum pending requests exceeded',
    });
  });

  it("plain text or an HTML page is not Ollama's own error (the gateway renders it for the caller)", () => {
    expect(parseOllamaError('404 page not found')).toBeUndefined();
    expect(parseOllamaError('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>')).toBeUndefined();
    expect(parseOllamaError('upstream request timeout')).toBeUndefined();
  });

  it('an OpenAI-style nested error from a proxy', () => {
    expect(parseOllamaError('{"error":{"message":"Unauthorized","type":"auth"}}')).toEqual({ message: 'Unauthorized' });
  });

  it('empty or JSON without an error is nothing', () => {
    expect(parseOllamaError('')).toBeUndefined();
    expect(parseOllamaError('  \n')).toBeUndefined();
    expect(parseOllamaError('{"status":"ok"}')).toBeUndefined();
    expect(parseOllamaError('null')).toBeUndefined();
    expect(parseOllamaError('{"error":42}')).toBeUndefined();
  });
});

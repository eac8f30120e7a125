import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { anthropicFormat, ANTHROPIC_VERSION } from './index.js';

describe('anthropicFormat', () => {
  it('addresses the Messages endpoint under the provider base path with key and version headers', () => {
    expect(anthropicFormat.upstreamCall({ basePath: '/v1', upstreamModel: 'claude-haiku-4-5', stream: true, credential: 'sk-ant-test' })).toEqual({
      path: '/v1/messages',
      headers: [
        ['x-api-key', 'sk-ant-test'],
        ['anthropic-version', '2023-06-01'],
      ],
    });
    expect(ANTHROPIC_VERSION).toBe('2023-06-01');
  });

  it('sends no key header without a credential, and works with an empty base path', () => {
    expect(anthropicFormat.upstreamCall({ basePath: '', upstreamModel: 'm', stream: false, credential: undefined })).toEqual({
      path: '/messages',
      headers: [['anthropic-version', '2023-06-01']],
    });
  });

  it('takes model and streaming from the body only', () => {
    const req = anthropicFormat.parseRequest(
      { model: 'claude-a', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
      { pathModel: 'other', stream: true },
    );
    expect(req.model).toBe('claude-a');
    expect(req.stream).toBe(false);
  });

  it('renders gateway errors in Anthropic’s shape and reads provider errors', () => {
    expect(JSON.parse(anthropicFormat.renderError(new GatewayError('rate_limit', 'Slow down.')))).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'Slow down.' },
    });
    expect(anthropicFormat.parseError('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')).toEqual({
      type: 'overloaded_error',
      message: 'Overloaded',
    });
  });

  it('streams server-sent events, with a fresh decoder and encoder per stream', () => {
    expect(anthropicFormat.id).toBe('anthropic');
    expect(anthropicFormat.streamContentType).toBe('text/event-stream');
    expect(anthropicFormat.createStreamDecoder()).not.toBe(anthropicFormat.createStreamDecoder());
    const ctx = { id: 'msg_1', model: 'm', created: 0, includeUsage: false };
    const a = anthropicFormat.createStreamEncoder(ctx);
    a.encode([{ type: 'text', text: 'x' }]);
    // A second encoder has not started its message yet.
    expect(anthropicFormat.createStreamEncoder(ctx).encode([{ type: 'start', id: 'a', model: 'b' }])).toContain('event: message_start');
  });
});

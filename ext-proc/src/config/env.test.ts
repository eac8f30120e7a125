import { describe, expect, it } from 'vitest';
import { ConfigError, readEnv } from './env.js';

describe('readEnv: who may reach the gRPC port', () => {
  it('listens on loopback without a token', () => {
    expect(readEnv({}).GRPC_HOST).toBe('127.0.0.1');
  });

  it('refuses to listen beyond loopback without PROCESSOR_TOKEN, naming both ways out', () => {
    expect(() => readEnv({ GRPC_HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => readEnv({ GRPC_HOST: '0.0.0.0' })).toThrow(/PROCESSOR_TOKEN.*GRPC_NETWORK_RESTRICTED=true/);
  });

  it('listens beyond loopback with a token, or where the network admits only Envoy', () => {
    expect(readEnv({ GRPC_HOST: '0.0.0.0', PROCESSOR_TOKEN: 'a-token-of-16-chars+' }).PROCESSOR_TOKEN).toBe('a-token-of-16-chars+');
    expect(readEnv({ GRPC_HOST: '0.0.0.0', GRPC_NETWORK_RESTRICTED: 'true' }).GRPC_NETWORK_RESTRICTED).toBe(true);
  });

  it('rejects a short token and a non-boolean flag', () => {
    expect(() => readEnv({ PROCESSOR_TOKEN: 'short' })).toThrow(/PROCESSOR_TOKEN: at least 16 characters/);
    expect(() => readEnv({ GRPC_NETWORK_RESTRICTED: 'yes' })).toThrow(/GRPC_NETWORK_RESTRICTED/);
  });
});

describe('readEnv: PII_MODE', () => {
  it('is off unless set, and takes detect or redact', () => {
    expect(readEnv({}).PII_MODE).toBe('off');
    expect(readEnv({ PII_MODE: 'detect' }).PII_MODE).toBe('detect');
    expect(readEnv({ PII_MODE: 'redact' }).PII_MODE).toBe('redact');
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => readEnv({ PII_MODE: 'mask' })).toThrow(/PII_MODE/);
  });
});

describe('readEnv: GUARD_MODE', () => {
  it('is monitor unless set, and takes off or block', () => {
    expect(readEnv({}).GUARD_MODE).toBe('monitor');
    expect(readEnv({ GUARD_MODE: 'off' }).GUARD_MODE).toBe('off');
    expect(readEnv({ GUARD_MODE: 'block' }).GUARD_MODE).toBe('block');
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => readEnv({ GUARD_MODE: 'strict' })).toThrow(/GUARD_MODE/);
  });
});

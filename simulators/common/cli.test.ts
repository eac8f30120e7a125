import { afterEach, describe, expect, it, vi } from 'vitest';
import { commonOptionsFromEnv, envList, envNumber, envString, numbersFromEnv, runSimulatorCli } from './cli.js';

describe('reading the environment', () => {
  it('envString: unset and empty are undefined; trimming is asked for', () => {
    expect(envString({ A: 'x' }, 'A')).toBe('x');
    expect(envString({ A: '' }, 'A')).toBeUndefined();
    expect(envString({}, 'A')).toBeUndefined();
    expect(envString({ A: ' x ' }, 'A')).toBe(' x ');
    expect(envString({ A: ' x ' }, 'A', { trim: true })).toBe('x');
    expect(envString({ A: '   ' }, 'A', { trim: true })).toBeUndefined();
  });

  it('envNumber: non-negative numbers; blank is unset; anything else names the variable and its value', () => {
    expect(envNumber({ N: '12.5' }, 'N')).toBe(12.5);
    expect(envNumber({ N: ' 7 ' }, 'N')).toBe(7);
    expect(envNumber({ N: '  ' }, 'N')).toBeUndefined();
    expect(envNumber({}, 'N')).toBeUndefined();
    expect(() => envNumber({ N: '-1' }, 'N')).toThrow('N must be a non-negative number, got "-1"');
    expect(() => envNumber({ N: ' abc ' }, 'N')).toThrow('got " abc "');
    expect(() => envNumber({ N: ' abc ' }, 'N', { trim: true })).toThrow('got "abc"');
    expect(() => envNumber({ N: 'Infinity' }, 'N')).toThrow();
  });

  it('envList: comma-separated, items trimmed, empty ones dropped', () => {
    expect(envList({ L: ' a, b ,,c ' }, 'L')).toEqual(['a', 'b', 'c']);
    expect(envList({ L: ' ' }, 'L')).toBeUndefined();
    expect(envList({}, 'L')).toBeUndefined();
  });

  it('numbersFromEnv: reads the table in order and leaves unset ones out', () => {
    expect(
      numbersFromEnv({ A: '1', C: '3' }, [
        ['A', 'a'],
        ['B', 'b'],
        ['C', 'c'],
      ] as const),
    ).toEqual({ a: 1, c: 3 });
    expect(() =>
      numbersFromEnv({ A: 'x', B: 'y' }, [
        ['A', 'a'],
        ['B', 'b'],
      ] as const),
    ).toThrow(/^A /);
  });

  it('commonOptionsFromEnv: the options the OpenAI, Anthropic, Gemini and Ollama CLIs share', () => {
    expect(
      commonOptionsFromEnv({
        SIM_HOST: '0.0.0.0',
        SIM_API_KEY: 'k',
        SIM_PORT: '8080',
        SIM_LATENCY_MS: '5',
        SIM_TOKENS_PER_SECOND: '40',
        SIM_FAIL_EVERY: '3',
        SIM_FAIL_STATUS: '503',
        SIM_OTHER: '1',
      }),
    ).toEqual({ host: '0.0.0.0', apiKey: 'k', port: 8080, latencyMs: 5, tokensPerSecond: 40, failEvery: 3, failStatus: 503 });
    expect(commonOptionsFromEnv({ SIM_HOST: '', SIM_API_KEY: '' })).toEqual({});
  });
});

describe('runSimulatorCli', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Runs the CLI with process.on, process.exit and the output captured instead of acting. */
  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    const handlers = new Map<string, (signal: NodeJS.Signals) => void>();
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err.push(String(chunk));
      return true;
    });
    vi.spyOn(process, 'on').mockImplementation(((event: string, fn: (signal: NodeJS.Signals) => void) => {
      handlers.set(event, fn);
      return process;
    }) as typeof process.on);
    const exited = new Promise<number | undefined>((resolve) => {
      vi.spyOn(process, 'exit').mockImplementation(((code?: number) => resolve(code)) as typeof process.exit);
    });
    return { out, err, handlers, exited };
  }

  const settle = () => new Promise((r) => setImmediate(r));

  it('prints the ready line, and on SIGTERM closes once and prints the stopped line', async () => {
    const c = capture();
    const close = vi.fn(async () => {});
    runSimulatorCli(
      'demo',
      () => ({ apiKey: 'k' }),
      async () => ({ url: 'http://127.0.0.1:1234', port: 1234, close }),
    );
    await settle();
    expect(c.out.map((l) => JSON.parse(l) as unknown)).toEqual([
      { event: 'simulator ready', simulator: 'demo', url: 'http://127.0.0.1:1234', port: 1234, auth: true },
    ]);
    expect([...c.handlers.keys()].sort()).toEqual(['SIGINT', 'SIGTERM']);
    c.handlers.get('SIGTERM')!('SIGTERM');
    c.handlers.get('SIGINT')!('SIGINT');
    expect(await c.exited).toBe(0);
    expect(close).toHaveBeenCalledTimes(1);
    expect(JSON.parse(c.out[1]!)).toEqual({ event: 'simulator stopped', signal: 'SIGTERM' });
  });

  it('reports auth false without a key', async () => {
    const c = capture();
    runSimulatorCli(
      'demo',
      () => ({}),
      async () => ({ url: 'u', port: 1, close: async () => {} }),
    );
    await settle();
    expect(JSON.parse(c.out[0]!)).toMatchObject({ auth: false });
  });

  it('exits 1 with a failed line when the options are bad or the start fails', async () => {
    const c = capture();
    runSimulatorCli(
      'demo',
      () => {
        throw new Error('SIM_PORT must be a non-negative number, got "x"');
      },
      async () => ({ url: 'u', port: 1, close: async () => {} }),
    );
    expect(await c.exited).toBe(1);
    expect(JSON.parse(c.err[0]!)).toEqual({ event: 'simulator failed', error: 'SIM_PORT must be a non-negative number, got "x"' });
    expect(c.out).toEqual([]);
  });

  it('exits 1 when closing fails', async () => {
    const c = capture();
    runSimulatorCli(
      'demo',
      () => ({}),
      async () => ({ url: 'u', port: 1, close: async () => Promise.reject(new Error('stuck')) }),
    );
    await settle();
    c.handlers.get('SIGINT')!('SIGINT');
    expect(await c.exited).toBe(1);
    expect(c.err.join('')).toContain('simulator close failed: Error: stuck');
  });
});

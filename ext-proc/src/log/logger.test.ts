import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../config/paths.js';

/*
 * The built logger (dist/, made by the set-up `npm test` runs) in a process killed with SIGKILL
 * right after logging: what an operator finds after a crash.
 */
function killedAfter(script: string): string {
  const logger = path.join(repoRoot(), 'dist', 'ext-proc', 'src', 'log', 'logger.js');
  const code = `import(${JSON.stringify(logger)}).then(({ rootLogger: log }) => { ${script}; process.kill(process.pid, 'SIGKILL'); });`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'info' }, timeout: 10_000 });
  expect(r.signal).toBe('SIGKILL');
  return r.stdout;
}

describe('logger: the last lines survive a crash', () => {
  it('writes a warning at once, with the info lines buffered before it', () => {
    const out = killedAfter("log.info({ rid: 'r1' }, 'before'); log.warn({ rid: 'r1' }, 'last words')");
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(lines.map((l) => l.msg)).toEqual(['before', 'last words']);
  });

  it('writes an error at once', () => {
    expect(killedAfter("log.error('fatal thing')")).toContain('"msg":"fatal thing"');
  });
});

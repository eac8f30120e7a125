import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppendLog } from './append-log.js';
import { readLines, Spool, type Segment } from './spool.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gw-spool-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a child Node process; resolves with its exit signal. */
function child(code: string): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'inherit' });
    c.once('error', reject);
    c.once('exit', (_code, signal) => resolve(signal));
  });
}

describe('the append-only log', () => {
  it('lets several processes append to one file, each line landing whole', async () => {
    const file = path.join(dir, 'usage.jsonl');
    const writer = (tag: string) => `
      import { openSync, writeSync } from 'node:fs';
      const fd = openSync(${JSON.stringify(file)}, 'a');
      const pad = 'x'.repeat(700);
      for (let i = 0; i < 3000; i++) writeSync(fd, JSON.stringify({ tag: '${tag}', i, pad }) + '\\n');
    `;
    const log = AppendLog.open(file, 10);
    const own = (async () => {
      for (let i = 0; i < 3000; i++) {
        expect(log.append(JSON.stringify({ tag: 'main', i, pad: 'y'.repeat(700) }))).toBe(true);
        if (i % 500 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all([child(writer('a')), child(writer('b')), own]);
    await log.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(9000);
    const seen = new Map<string, number>();
    for (const l of lines) {
      const j = JSON.parse(l) as { tag: string };
      seen.set(j.tag, (seen.get(j.tag) ?? 0) + 1);
    }
    expect(Object.fromEntries(seen)).toEqual({ a: 3000, b: 3000, main: 3000 });
  });

  it('refuses appends once closed, and syncs on close', async () => {
    const log = AppendLog.open(path.join(dir, 'sub', 'usage.jsonl'), 0);
    expect(log.append('{"a":1}')).toBe(true);
    await log.sync();
    await log.close();
    expect(log.append('{"a":2}')).toBe(false);
    expect(readFileSync(path.join(dir, 'sub', 'usage.jsonl'), 'utf8')).toBe('{"a":1}\n');
  });
});

function ship(spool: Spool, max = 1 << 20): string[] {
  const out: string[] = [];
  for (let seg: Segment | undefined; (seg = spool.next(max)); ) {
    out.push(...seg.lines);
    spool.shippedTo(seg);
  }
  return out;
}

describe('the spool', () => {
  it('hands out what was appended, in order and in batches, and remembers what was shipped', async () => {
    const spool = new Spool({ dir, fsyncMs: 0, maxBytes: 1 << 20, host: 'h', pid: 1 });
    for (let i = 0; i < 100; i++) spool.append(JSON.stringify({ i }));
    const first = spool.next(200)!;
    expect(first.lines.length).toBeGreaterThan(0);
    expect(first.lines.length).toBeLessThan(100);
    spool.shippedTo(first);
    expect(readFileSync(`${spool.file}.pos`, 'utf8')).toBe(String(first.next));
    const rest = ship(spool, 200);
    expect([...first.lines, ...rest].map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(100).keys()]);
    expect(spool.backlog()).toBe(0);
    expect(spool.next(200)).toBeUndefined();
    await spool.close();
    // Everything shipped: nothing left behind.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('empties its file once everything in it was shipped and it has grown past 1 MiB', async () => {
    const spool = new Spool({ dir, fsyncMs: 0, maxBytes: 1 << 30, host: 'h', pid: 1 });
    const line = JSON.stringify({ pad: 'z'.repeat(1000) });
    for (let i = 0; i < 1100; i++) spool.append(line);
    expect(statSync(spool.file).size).toBeGreaterThan(1 << 20);
    expect(ship(spool, 64 * 1024)).toHaveLength(1100);
    expect(statSync(spool.file).size).toBe(0);
    spool.append('{"after":1}');
    expect(ship(spool)).toEqual(['{"after":1}']);
    await spool.close();
  });

  it('refuses records beyond its cap of unshipped bytes', async () => {
    const spool = new Spool({ dir, fsyncMs: 0, maxBytes: 100, host: 'h', pid: 1 });
    let accepted = 0;
    for (let i = 0; i < 20; i++) if (spool.append(JSON.stringify({ i, pad: 'p' }))) accepted++;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(20);
    ship(spool);
    expect(spool.append('{"room":"again"}')).toBe(true);
    await spool.close();
  });

  it('adopts the file of a process that died, from where it stopped, and one adopter only wins', async () => {
    const dead = new Spool({ dir, fsyncMs: 0, maxBytes: 1 << 20, host: 'h', pid: 4242 });
    for (let i = 0; i < 10; i++) dead.append(JSON.stringify({ i }));
    const seg = dead.next(40)!;
    dead.shippedTo(seg);
    const shippedBefore = seg.lines.length;
    // The process dies here: no close(). (Its file is still listed as held by this test process.)
    const isAlive = (pid: number) => pid !== 4242;
    const a = new Spool({ dir, fsyncMs: 0, maxBytes: 1 << 20, host: 'h', pid: 5000, isAlive });
    const b = new Spool({ dir, fsyncMs: 0, maxBytes: 1 << 20, host: 'h', pid: 5001, isAlive });
    // A file this process holds is never adopted, even with its owner's pid reported dead.
    expect(a.adoptOrphans()).toBe(0);
    await dead.close().catch(() => undefined);
    // close() kept the file (not everything was shipped): now it is an orphan.
    expect(existsSync(dead.file)).toBe(true);
    expect(a.adoptOrphans() + b.adoptOrphans()).toBe(1);
    const lines = [...ship(a), ...ship(b)];
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(10).keys()].slice(shippedBefore));
    // Shipped whole: the adopted file and its position are gone.
    expect(readdirSync(dir).filter((f) => f.includes('4242'))).toEqual([]);
    await a.close();
    await b.close();
  });

  it("adopts another host's file, or one whose pid a live process has taken, once it has been untouched for 10 minutes", async () => {
    const other = new Spool({ dir, fsyncMs: 0, maxBytes: 1 << 20, host: 'elsewhere', pid: 7 });
    other.append('{"x":1}');
    await other.close();
    const reused = new Spool({ dir, fsyncMs: 0, maxBytes: 1 << 20, host: 'here', pid: 9 });
    reused.append('{"y":2}');
    await reused.close();
    const t = Date.now();
    const mine = new Spool({ dir, fsyncMs: 0, maxBytes: 1 << 20, host: 'here', pid: 8, now: () => t, isAlive: () => true });
    expect(mine.adoptOrphans()).toBe(0);
    const old = new Date(t - 11 * 60_000);
    utimesSync(other.file, old, old);
    utimesSync(reused.file, old, old);
    expect(mine.adoptOrphans()).toBe(2);
    expect(ship(mine).sort()).toEqual(['{"x":1}', '{"y":2}']);
    await mine.close();
  });

  it('reads whole lines only: a torn last line waits', () => {
    const file = path.join(dir, 'torn.jsonl');
    writeFileSync(file, '{"a":1}\n{"b":2}\n{"c":');
    // A batch smaller than a line still gets that line.
    const first = readLines(file, 0, 4)!;
    expect(first.lines).toEqual(['{"a":1}']);
    const rest = readLines(file, first.next, 1024)!;
    expect(rest.lines).toEqual(['{"b":2}']);
    expect(readLines(file, rest.next, 1024)!.lines).toEqual([]);
    expect(readLines(path.join(dir, 'missing.jsonl'), 0, 1024)).toBeUndefined();
  });
});

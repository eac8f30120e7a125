import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  futimesSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppendLog } from './append-log.js';

/*
 * The spool: where a processor keeps its ledger records until they are in the Redis stream.
 * Each process appends to a file of its own, named for its host and pid; what has been shipped
 * is remembered beside it (`<file>.pos`). A process that dies (kill -9 included) leaves its file
 * behind; the next process on the same spool folder to look adopts it (an atomic rename, so one
 * adopter only) and ships what was left. Records shipped twice (a crash between XADD and the
 * position's update) are stored once: the ledger's key is the request id.
 */

/** A file of this host whose process is gone is adopted at once; any file untouched this long, too. */
const STALE_MS = 10 * 60_000;
/** Owners touch their file this often, so that another host can tell a live spool from an abandoned one. */
const HEARTBEAT_MS = 60_000;
/** The spool is emptied once everything in it was shipped and it has grown past this. */
const REWIND_BYTES = 1024 * 1024;

const NAME = /^spool-(.+)-(\d+)-([0-9a-f]{8})\.jsonl$/;
/** Files this process owns (several gateways may run in one process, e.g. in tests). */
const owned = new Set<string>();

export interface SpoolOptions {
  dir: string;
  fsyncMs: number;
  /** Unshipped bytes beyond which records are refused (Redis unreachable for that long). */
  maxBytes: number;
  /** For tests: who this process is. */
  host?: string;
  pid?: number;
  isAlive?: (pid: number) => boolean;
  now?: () => number;
}

/** A stretch of a spool file still to ship. */
export interface Segment {
  file: string;
  lines: string[];
  /** Where the next read starts once these lines are shipped. */
  next: number;
}

interface Adopted {
  file: string;
  pos: number;
}

export class Spool {
  readonly file: string;
  private readonly log: AppendLog;
  private shipped = 0;
  private readonly adopted: Adopted[] = [];
  private readonly heartbeat: NodeJS.Timeout;
  private readonly host: string;
  private readonly pid: number;

  constructor(private readonly o: SpoolOptions) {
    this.host = safeHost(o.host ?? os.hostname());
    this.pid = o.pid ?? process.pid;
    this.file = path.join(o.dir, `spool-${this.host}-${this.pid}-${randomBytes(4).toString('hex')}.jsonl`);
    this.log = AppendLog.open(this.file, o.fsyncMs);
    owned.add(this.file);
    this.heartbeat = setInterval(() => this.touch(), HEARTBEAT_MS).unref();
  }

  /** Appends a record; false when it was refused (the spool is full, or the write failed). */
  append(line: string): boolean {
    if (this.log.size - this.shipped >= this.o.maxBytes) return false;
    return this.log.append(line);
  }

  /** Bytes not yet shipped, adopted files included. */
  backlog(): number {
    let n = this.log.size - this.shipped;
    for (const a of this.adopted) n += Math.max(0, sizeOf(a.file) - a.pos);
    return n;
  }

  /**
   * Takes over the files of processes that are gone; returns how many it adopted. Each is
   * renamed to this process's name first: of several processes looking at once, one wins.
   */
  adoptOrphans(): number {
    let n = 0;
    let names: string[];
    try {
      names = readdirSync(this.o.dir);
    } catch {
      return 0;
    }
    for (const name of names) {
      const file = path.join(this.o.dir, name);
      if (!this.isOrphan(name, file)) continue;
      const mine = path.join(this.o.dir, `spool-${this.host}-${this.pid}-${randomBytes(4).toString('hex')}.jsonl`);
      try {
        renameSync(file, mine);
      } catch {
        continue; // another process adopted it first
      }
      owned.add(mine);
      let pos = 0;
      try {
        pos = Number(readFileSync(`${file}.pos`, 'utf8')) || 0;
        renameSync(`${file}.pos`, `${mine}.pos`);
      } catch {
        // no position: ship it all (what was shipped already is stored once)
      }
      this.adopted.push({ file: mine, pos });
      n++;
    }
    return n;
  }

  /**
   * The next lines to ship (adopted files first), up to about `maxBytes`; undefined when
   * everything is shipped.
   */
  next(maxBytes: number): Segment | undefined {
    while (this.adopted.length > 0) {
      const a = this.adopted[0]!;
      const seg = readLines(a.file, a.pos, maxBytes);
      if (seg && seg.lines.length > 0) return seg;
      // Done with it (or it is unreadable): it goes.
      this.adopted.shift();
      removeSpoolFile(a.file);
    }
    if (this.log.size <= this.shipped) return undefined;
    const seg = readLines(this.file, this.shipped, maxBytes);
    return seg && seg.lines.length > 0 ? seg : undefined;
  }

  /** The segment's lines are in the stream: remember it (and empty this process's file when all of it is). */
  shippedTo(seg: Segment): void {
    if (seg.file === this.file) {
      this.shipped = seg.next;
      // No await between this check and the truncation: no append can come in between.
      if (this.shipped >= this.log.size && this.log.size >= REWIND_BYTES) {
        this.log.truncate();
        this.shipped = 0;
      }
      writePos(this.file, this.shipped);
      return;
    }
    const a = this.adopted.find((x) => x.file === seg.file);
    if (a) {
      a.pos = seg.next;
      writePos(a.file, a.pos);
    }
  }

  /** Closes the file; removes it when everything in it was shipped (else the next process adopts it). */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.log.close();
    owned.delete(this.file);
    if (this.shipped >= this.log.size) removeSpoolFile(this.file);
    for (const a of this.adopted) owned.delete(a.file);
  }

  private isOrphan(name: string, file: string): boolean {
    const m = NAME.exec(name);
    if (!m || owned.has(file)) return false;
    const [, host, pidText] = m;
    const pid = Number(pidText);
    if (host === this.host) {
      // Our own pid on a file we do not hold: a process before us (a restarted container's pid 1).
      if (pid === this.pid) return true;
      if (!(this.o.isAlive ?? isAlive)(pid)) return true;
    }
    // Owners touch their file every minute: one untouched this long has none (another host's,
    // or one whose pid a new process has taken).
    try {
      return (this.o.now ?? Date.now)() - statSync(file).mtimeMs > STALE_MS;
    } catch {
      return false;
    }
  }

  private touch(): void {
    try {
      const fd = openSync(this.file, 'r');
      const now = new Date();
      futimesSync(fd, now, now);
      closeSync(fd);
    } catch {
      // gone (adopted by another host's process after a long stop): its records ship from there
    }
  }
}

/** Reads whole lines from `from`, about `maxBytes` of them (at least one line). */
export function readLines(file: string, from: number, maxBytes: number): Segment | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= from) return { file, lines: [], next: from };
    let want = Math.min(maxBytes, size - from);
    for (;;) {
      const buf = Buffer.allocUnsafe(want);
      const n = readSync(fd, buf, 0, want, from);
      if (n === 0) return { file, lines: [], next: from };
      const end = buf.subarray(0, n).lastIndexOf(0x0a);
      if (end < 0) {
        // A line longer than the batch (or a torn last line): read more, or stop at a torn tail.
        if (n < want || from + n >= size) return { file, lines: [], next: from };
        want = Math.min(want * 2, size - from);
        continue;
      }
      const lines = buf
        .subarray(0, end)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.length > 0);
      return { file, lines, next: from + end + 1 };
    }
  } finally {
    closeSync(fd);
  }
}

function writePos(file: string, pos: number): void {
  try {
    writeFileSync(`${file}.pos`, String(pos));
  } catch {
    // Without it a restart ships the file again from the start: stored once all the same.
  }
}

function removeSpoolFile(file: string): void {
  for (const f of [file, `${file}.pos`]) {
    try {
      if (existsSync(f)) unlinkSync(f);
    } catch {
      // left for the next adopter
    }
  }
  owned.delete(file);
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Whether a process runs (a zombie waiting to be reaped does not). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true; // no /proc: kill(0) said it is there
  }
}

function safeHost(host: string): string {
  return host.replace(/[^A-Za-z0-9.]/g, '_') || 'host';
}

import { closeSync, fstatSync, fsync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * An append-only JSONL file. Each line goes down in one write(2) on a descriptor opened with
 * O_APPEND: once `append` returns, the line is in the kernel's page cache and outlives this
 * process however it dies (kill -9 included); several processes may append to one file, each
 * line landing whole. Reaching the disk is batched: fsync every `fsyncMs` when anything was
 * written, so a machine that loses power loses at most that much.
 */
export class AppendLog {
  private dirty = false;
  private syncing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;
  private bytes: number;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    fsyncMs: number,
  ) {
    this.bytes = fstatSync(fd).size;
    this.timer = fsyncMs > 0 ? setInterval(() => void this.sync(), fsyncMs).unref() : undefined;
  }

  /** Opens (creating it and its folder if needed) for appending; throws when it cannot. */
  static open(file: string, fsyncMs: number): AppendLog {
    mkdirSync(path.dirname(file), { recursive: true });
    return new AppendLog(file, openSync(file, 'a', 0o640), fsyncMs);
  }

  /** The file's size as of this process's last write or truncation (others may append too). */
  get size(): number {
    return this.bytes;
  }

  /** Appends one line (the newline is added); false when the write failed (disk full, I/O error). */
  append(line: string): boolean {
    if (this.closed) return false;
    const buf = Buffer.from(`${line}\n`, 'utf8');
    try {
      let done = 0;
      while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done);
    } catch {
      return false;
    }
    this.bytes += buf.length;
    this.dirty = true;
    return true;
  }

  /** Empties the file (the spool, once everything in it was shipped). */
  truncate(): void {
    ftruncateSync(this.fd, 0);
    this.bytes = 0;
  }

  /** fsync now if anything was written since the last one. */
  sync(): Promise<void> {
    if (this.syncing) return this.syncing;
    if (!this.dirty || this.closed) return Promise.resolve();
    this.dirty = false;
    this.syncing = new Promise<void>((resolve) => {
      fsync(this.fd, () => {
        this.syncing = undefined;
        resolve();
      });
    });
    return this.syncing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    await this.sync();
    this.closed = true;
    closeSync(this.fd);
  }
}

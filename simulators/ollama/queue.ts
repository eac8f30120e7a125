/**
 * The request scheduler of one Ollama server as the simulator models it: `parallel` requests
 * run at once (OLLAMA_NUM_PARALLEL), later ones wait in arrival order, and once `maxQueue` are
 * waiting (OLLAMA_MAX_QUEUE) new ones are turned away. A GPU-pool router needs exactly this
 * behaviour to be tested: time to first token grows with the queue, and overload is a 503.
 */

export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
}

export class SlotQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly parallel: number,
    readonly maxQueue: number,
  ) {
    if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`parallel must be a positive integer, got ${parallel}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new Error(`maxQueue must be a non-negative integer, got ${maxQueue}`);
  }

  inFlight(): number {
    return this.running;
  }

  queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a release function once a slot is free, or with 'busy' at once when the
   * queue is full. Aborting `signal` while waiting gives up the place in the queue ('aborted').
   */
  acquire(signal?: AbortSignal): Promise<Release | 'busy' | 'aborted'> {
    if (signal?.aborted) return Promise.resolve('aborted');
    if (this.running < this.parallel) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueue) return Promise.resolve('busy');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve('aborted');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** A release that frees the slot once, however often it is called. */
  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next in line, so `running` does not change.
      if (next) next.grant(this.releaser());
      else this.running--;
    };
  }
}

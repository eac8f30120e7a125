/**
 * Per-request cancellation: every wait a simulator does for a request (latency, pacing, a full
 * socket) ends as soon as the client goes away, so an abandoned request holds no timer, no
 * listener and no queue slot.
 */
import type http from 'node:http';

/** Aborted once the response closes, whether answered, reset or abandoned by the client. */
export function closeSignal(res: http.ServerResponse): AbortSignal {
  const closed = new AbortController();
  res.once('close', () => closed.abort());
  return closed.signal;
}

/** Waits `ms`, or less if the request closes first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Waits until `at` on the performance clock, or less if the request closes first. */
export function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  return sleep(at - performance.now(), signal);
}

/** Waits `ms`; false if the client went away meanwhile, so there is no one left to answer. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  await sleep(ms, signal);
  return !signal.aborted;
}

/**
 * Yields to the event loop once, so an unpaced stream lets other requests and socket events in
 * between its chunks. With a signal, a request that has already closed does not wait.
 */
export function nextTurn(signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => setImmediate(resolve));
}

/** Writes, waiting for the socket to drain; false once the client is gone. */
export async function write(res: http.ServerResponse, signal: AbortSignal, data: string): Promise<boolean> {
  if (signal.aborted) return false;
  if (!res.write(data)) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      res.once('drain', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
  return !signal.aborted;
}

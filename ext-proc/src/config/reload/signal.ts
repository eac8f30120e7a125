/**
 * SIGHUP asks for a configuration reload, as daemons conventionally take it.
 *
 * With several workers, the primary holds no configuration: it passes the request on to each
 * worker as an IPC message (a signal would kill a worker that has not yet installed its handler;
 * a message it does not listen for yet is simply dropped, and it reads the files at start anyway).
 * Each worker also watches the files itself, so a file change needs no primary at all.
 */
import type { Worker } from 'node:cluster';

export const RELOAD_MESSAGE = 'llm-gateway:reload-config';

/** Calls `reload` on SIGHUP, and on the primary's reload message in a worker. Returns the unsubscribe. */
export function onReloadRequest(reload: (reason: 'SIGHUP') => void, proc: NodeJS.Process = process): () => void {
  const onSignal = () => reload('SIGHUP');
  const onMessage = (m: unknown) => {
    if ((m as { type?: unknown } | null)?.type === RELOAD_MESSAGE) reload('SIGHUP');
  };
  proc.on('SIGHUP', onSignal);
  proc.on('message', onMessage);
  return () => {
    proc.off('SIGHUP', onSignal);
    proc.off('message', onMessage);
  };
}

/** Passes a reload request to every connected worker; returns how many were told. */
export function forwardReload(workers: Iterable<Worker | undefined>): number {
  let told = 0;
  for (const w of workers) {
    if (!w?.isConnected()) continue;
    w.send({ type: RELOAD_MESSAGE });
    told++;
  }
  return told;
}

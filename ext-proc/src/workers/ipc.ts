/*
 * State the workers of one processor share when there is no Redis: the rate limiter and the
 * response cache live in the primary process, and each worker reaches them through the cluster's
 * IPC channel. One message each way per operation, the same shape as a Redis round trip.
 */
import { LimiterUnavailable, type Admission, type Estimate, type Limiter, type LimitSubject, type Reservation } from '../limits/index.js';
import type { KvStore } from '../store/kv.js';

export const IPC_REQUEST = 'llm-gateway:shared-state-request';
export const IPC_REPLY = 'llm-gateway:shared-state-reply';

export type SharedOp =
  | { op: 'admit'; subjects: LimitSubject[]; estimate: Estimate; nowMs: number }
  | { op: 'reconcile'; reservation: Reservation; actual: Estimate }
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: string; ttlSeconds: number }
  | { op: 'delete'; key: string };

export interface SharedRequest {
  type: typeof IPC_REQUEST;
  id: number;
  call: SharedOp;
}

export interface SharedReply {
  type: typeof IPC_REPLY;
  id: number;
  ok: boolean;
  /** JSON-able result; Buffers travel as base64. */
  value?: unknown;
  error?: string;
  /** The error was the limiter's store being unavailable. */
  unavailable?: boolean;
}

/** How long a worker waits for the primary before an operation counts as unavailable. */
const TIMEOUT_MS = 2000;

/** The worker's end of the channel. */
export class SharedStateClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: SharedReply) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly proc: NodeJS.Process = process) {
    proc.on('message', (m: unknown) => {
      const r = m as SharedReply;
      if (r?.type !== IPC_REPLY) return;
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      clearTimeout(p.timer);
      p.resolve(r);
    });
  }

  call(op: SharedOp): Promise<SharedReply> {
    const id = this.next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ type: IPC_REPLY, id, ok: false, error: 'the primary process did not answer', unavailable: true });
      }, TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, { resolve, timer });
      const sent = this.proc.send?.({ type: IPC_REQUEST, id, call: op } satisfies SharedRequest);
      if (sent === false || !this.proc.connected) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve({ type: IPC_REPLY, id, ok: false, error: 'no channel to the primary process', unavailable: true });
      }
    });
  }

  connected(): boolean {
    return this.proc.connected === true;
  }
}

/** The limiter as a worker sees it: the primary's in-process limiter, across IPC. */
export function ipcLimiter(client: SharedStateClient): Limiter {
  const reconciled = new WeakSet<Reservation>();
  return {
    kind: 'memory',
    async admit(subjects, estimate, nowMs = Date.now()): Promise<Admission> {
      const r = await client.call({ op: 'admit', subjects, estimate, nowMs });
      if (!r.ok) throw r.unavailable ? new LimiterUnavailable(`rate limiter unavailable: ${r.error}`) : new RangeError(r.error);
      return r.value as Admission;
    },
    async reconcile(reservation, actual) {
      // At most once per reservation, as every limiter.
      if (reconciled.has(reservation)) return;
      reconciled.add(reservation);
      const r = await client.call({ op: 'reconcile', reservation, actual });
      if (!r.ok) throw new LimiterUnavailable(`rate limiter unavailable: ${r.error}`);
    },
    healthy: () => client.connected(),
    async close() {},
  };
}

/** The response cache's store as a worker sees it: the primary's in-process LRU, across IPC. */
export function ipcStore(client: SharedStateClient): KvStore {
  return {
    kind: 'memory',
    async get(key) {
      const r = await client.call({ op: 'get', key });
      return r.ok && typeof r.value === 'string' ? Buffer.from(r.value, 'base64') : undefined;
    },
    async set(key, value, ttlSeconds) {
      const r = await client.call({ op: 'set', key, value: value.toString('base64'), ttlSeconds });
      return r.ok && r.value === true;
    },
    async delete(key) {
      const r = await client.call({ op: 'delete', key });
      return r.ok && r.value === true;
    },
    healthy: () => client.connected(),
    async close() {},
  };
}

/** The primary's end: answers the workers' operations from its own limiter and store. */
export async function serveSharedState(req: SharedRequest, state: { limiter: Limiter; store: KvStore | undefined }): Promise<SharedReply> {
  const reply = (value: unknown): SharedReply => ({ type: IPC_REPLY, id: req.id, ok: true, value });
  const c = req.call;
  try {
    switch (c.op) {
      case 'admit':
        return reply(await state.limiter.admit(c.subjects, c.estimate, c.nowMs));
      case 'reconcile':
        await state.limiter.reconcile(c.reservation, c.actual);
        return reply(true);
      case 'get': {
        const v = await state.store?.get(c.key);
        return reply(v?.toString('base64'));
      }
      case 'set':
        return reply((await state.store?.set(c.key, Buffer.from(c.value, 'base64'), c.ttlSeconds)) === true);
      case 'delete':
        return reply((await state.store?.delete(c.key)) === true);
    }
  } catch (err) {
    return { type: IPC_REPLY, id: req.id, ok: false, error: err instanceof Error ? err.message : String(err), unavailable: err instanceof LimiterUnavailable };
  }
}

/**
 * Bounded open-loop load: call i is due at t0 + i / rps whatever happened to the earlier ones (a
 * stalled gateway does not lower the offered rate, as in bench/load/open-loop.ts), each sent with
 * plain fetch and judged (calls.ts). The benchmark's generator is built for thousands of calls per
 * second of one fixed body and reports only statuses; here every call needs its own API, body,
 * fault headers, response headers and a judged body, at tens of calls per second, so this is a
 * small scheduler of its own.
 */
import { sendCall, type CallOutcome, type CallSpec } from './calls.js';

export interface CallRecord extends CallOutcome {
  i: number;
  api: CallSpec['api'];
  model: string;
  stream: boolean;
  /** Output tokens the simulator was asked for. */
  tokens: number;
  /** Seconds from the scenario's clock start: when the call was due, sent and finished. */
  dueS: number;
  sentS: number;
  endS: number;
  /** Fault headers the call carried (chain faults). */
  fault?: string;
}

export interface LoadOptions {
  baseUrl: string;
  key: string;
  rps: number;
  /** Load length in seconds (calls due before this are sent). */
  seconds: number;
  /** The load may run on past `seconds`, up to this many seconds in all, while `keepGoing()` says so. */
  maxSeconds?: number;
  keepGoing?: (nowS: number) => boolean;
  /** Stop sending new calls once this says so (e.g. once the gateway is gone for good). */
  stopWhen?: (nowS: number) => boolean;
  timeoutMs: number;
  /** The scenario's clock: performance.now() at its start. */
  t0: number;
  /** Call i of the load. */
  pick(i: number, nowS: number): CallSpec & { fault?: string };
  /** Prefix of each prompt, so two runs never share one. */
  tag: string;
  /** Each finished call, in completion order. */
  onRecord?: (r: CallRecord) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Runs the load; resolves with every call's record (in due order) once all have finished. */
export async function runLoad(o: LoadOptions): Promise<CallRecord[]> {
  const now = () => (performance.now() - o.t0) / 1000;
  const start = now();
  const interval = 1 / o.rps;
  const pending: Array<Promise<CallRecord>> = [];
  for (let i = 0; ; i++) {
    const due = start + i * interval;
    const maxS = Math.max(o.seconds, o.maxSeconds ?? o.seconds);
    if (due - start >= maxS) break;
    if (due - start >= o.seconds && !(o.keepGoing?.(now()) ?? false)) break;
    if (o.stopWhen?.(now())) break;
    const wait = (due - now()) * 1000;
    if (wait > 0) await sleep(wait);
    const spec = o.pick(i, now());
    const sentS = now();
    pending.push(
      sendCall({ baseUrl: o.baseUrl, key: o.key, timeoutMs: o.timeoutMs, tag: `${o.tag}-${i}` }, spec).then((out) => {
        const r: CallRecord = {
          ...out,
          i,
          api: spec.api,
          model: spec.model,
          stream: spec.stream,
          tokens: spec.tokens,
          dueS: due,
          sentS,
          endS: now(),
          fault: spec.fault,
        };
        o.onRecord?.(r);
        return r;
      }),
    );
  }
  return Promise.all(pending);
}

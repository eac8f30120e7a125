/** The simulators' log of the requests they received, for tests to inspect. */

export const MAX_RECORDED_REQUESTS = 1000;

export interface RequestRecord {
  method: string;
  /** Request target as received (path plus query string, if any). */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; the raw text if it is not valid JSON; undefined if empty. */
  body: unknown;
  /** Tokens of the answer the simulator decided on (input, output); unset when it gave none. */
  usage?: { input: number; output: number };
}

/** Appends `record`, dropping the oldest beyond MAX_RECORDED_REQUESTS; returns it to be filled in later. */
export function recordRequest<R extends RequestRecord>(log: R[], record: R): R {
  log.push(record);
  if (log.length > MAX_RECORDED_REQUESTS) log.shift();
  return record;
}

import type { Struct } from '../../../protos/generated/google/protobuf/Struct.js';
import type { Value } from '../../../protos/generated/google/protobuf/Value.js';

export type Plain = string | number | boolean | null | undefined | Plain[] | { [k: string]: Plain };

/** Converts a plain object into the google.protobuf.Struct wire shape (for Envoy dynamic metadata). */
export function toStruct(obj: Record<string, Plain>): Struct {
  const fields: Record<string, Value> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined) fields[k] = toValue(v);
  }
  return { fields };
}

function toValue(v: Plain): Value {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v) };
}

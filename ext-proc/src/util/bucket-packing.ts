/*
 * The hashed-feature buckets a linear model keeps, packed for its weights file: the sorted
 * bucket numbers as varint gaps, base64. Shared by the request classifier and the guard.
 */

export function encodeBuckets(sorted: ArrayLike<number>): string {
  const bytes: number[] = [];
  let prev = -1;
  for (let i = 0; i < sorted.length; i++) {
    let d = sorted[i]! - prev - 1; // strictly increasing: gaps ≥ 0
    prev = sorted[i]!;
    while (d >= 0x80) {
      bytes.push((d & 0x7f) | 0x80);
      d >>>= 7;
    }
    bytes.push(d);
  }
  return Buffer.from(bytes).toString('base64');
}

/** Unpacks `rows` buckets; `fail` builds the model's own error for a damaged field. */
export function decodeBuckets(b64: string, rows: number, fail: (message: string) => Error): Int32Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Int32Array(rows);
  let pos = 0;
  let prev = -1;
  for (let r = 0; r < rows; r++) {
    let d = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw fail(`hashed.buckets: truncated at row ${r} of ${rows}`);
      const b = bytes[pos++]!;
      d |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw fail(`hashed.buckets: bad varint at row ${r}`);
    }
    prev = prev + 1 + d;
    out[r] = prev;
  }
  if (pos !== bytes.length) throw fail(`hashed.buckets: ${bytes.length - pos} bytes left after ${rows} rows`);
  return out;
}

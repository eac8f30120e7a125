/*
 * The protobuf wire format, as far as the ext_proc messages need it: varints, 64-bit doubles
 * and length-delimited fields. The processor decodes and encodes its messages with this instead
 * of a reflection-based library, because each LLM call crosses it several times and a generic
 * decoder builds every field of every message (header maps, metadata) whether it is read or not.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export class ProtoDecodeError extends Error {}

/** Reads one message's fields in order; length-delimited values are views into the input. */
export class ProtoReader {
  pos: number;
  private end: number;
  private readonly ends: number[] = [];

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  /** The next field's tag as [field number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    return [t >>> 3, t & 7];
  }

  /** The next field's raw tag, `field << 3 | wire` (no tuple: for the loops run on every message). */
  rawTag(): number {
    return this.varint();
  }

  /**
   * Steps into a nested message in place and returns where it ends; the caller reads its fields
   * until `pos` reaches that end, then calls `leave`. Saves a reader object per nested message.
   */
  enter(): number {
    const [s, e] = this.span();
    this.pos = s;
    this.ends.push(this.end);
    this.end = e;
    return e;
  }

  leave(): void {
    this.pos = this.end;
    this.end = this.ends.pop()!;
  }

  /** A varint that fits in 32 bits (tags, lengths, enums, bools); larger values keep their low bits. */
  varint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoDecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new ProtoDecodeError('varint longer than 10 bytes');
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new ProtoDecodeError('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's bounds, advancing past it. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new ProtoDecodeError('length-delimited field runs past its message');
    this.pos = start + len;
    return [start, start + len];
  }

  bytes(): Buffer {
    const [s, e] = this.span();
    return this.buf.subarray(s, e);
  }

  string(): string {
    const [s, e] = this.span();
    return this.buf.toString('utf8', s, e);
  }

  /** A reader over a nested message. */
  message(): ProtoReader {
    const [s, e] = this.span();
    return new ProtoReader(this.buf, s, e);
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.span();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new ProtoDecodeError('truncated field');
    this.pos += n;
  }
}

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/** Encoded names, shared by every writer; bounded, as some names come from callers' headers. */
const NAME_BYTES = new Map<string, Buffer>();
const MAX_NAMES = 2048;

/**
 * Writes one message into a single growing buffer. Nested messages are opened with `begin` and
 * closed with `end`, which back-fills their length (moving the body when the length takes more
 * than one byte), so the output is built with one allocation in the common case.
 */
export class ProtoWriter {
  private buf: Buffer;
  private pos: number;
  private readonly open: number[] = [];

  /** `reserve` bytes are left free at the front (the gRPC frame header goes there). */
  constructor(initial = 256, reserve = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(initial, reserve + 16));
    this.pos = reserve;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private rawVarint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  private key(field: number, wire: number): void {
    // Unsigned: field numbers from 2^28 (protobuf allows up to 2^29 - 1) set bit 31 of the tag.
    this.rawVarint(((field << 3) | wire) >>> 0);
  }

  uint(field: number, v: number): this {
    this.key(field, WIRE_VARINT);
    this.rawVarint(v >>> 0);
    return this;
  }

  bool(field: number, v: boolean): this {
    return this.uint(field, v ? 1 : 0);
  }

  double(field: number, v: number): this {
    this.key(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  string(field: number, s: string): this {
    this.key(field, WIRE_LEN);
    const len = Buffer.byteLength(s, 'utf8');
    this.rawVarint(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  /**
   * A string field whose value recurs (header names, metadata keys): its UTF-8 bytes are kept
   * after the first use, so later messages copy them instead of encoding again.
   */
  name(field: number, s: string): this {
    let b = NAME_BYTES.get(s);
    if (!b) {
      b = Buffer.from(s, 'utf8');
      if (NAME_BYTES.size < MAX_NAMES) NAME_BYTES.set(s, b);
    }
    return this.bytes(field, b);
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, WIRE_LEN);
    this.rawVarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Opens a nested message field; close it with `end()`. */
  begin(field: number): this {
    this.key(field, WIRE_LEN);
    this.ensure(1);
    this.open.push(this.pos);
    this.pos += 1; // one byte for the length, widened in end() if needed
    return this;
  }

  end(): this {
    const at = this.open.pop();
    if (at === undefined) throw new Error('ProtoWriter.end() without begin()');
    const len = this.pos - at - 1;
    const size = varintSize(len);
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.pos);
      this.pos += size - 1;
    }
    let v = len;
    let p = at;
    while (v >= 0x80) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    return this;
  }

  /** The bytes written (including the reserved front), as a view of the internal buffer. */
  finish(): Buffer {
    if (this.open.length > 0) throw new Error('ProtoWriter.finish() with an unclosed message');
    return this.buf.subarray(0, this.pos);
  }
}

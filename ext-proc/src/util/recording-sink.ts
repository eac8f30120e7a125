/**
 * Records hashed features namespace by namespace, for training: each occurrence's bucket and
 * signed value, scaled when its namespace closes. Serves the classifier's and the guard's
 * extractors alike (both stream features through begin / add / end).
 */
export class RecordingSink {
  idx: number[] = [];
  val: number[] = [];
  private start = 0;
  begin(): void {
    this.start = this.idx.length;
  }
  add(bucket: number, sign: number): void {
    this.idx.push(bucket);
    this.val.push(sign);
  }
  end(scale: number): void {
    for (let i = this.start; i < this.val.length; i++) this.val[i] = this.val[i]! * scale;
  }
}

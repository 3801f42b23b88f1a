import { Writable } from 'node:stream';
import type { CapturedStream } from './sandbox.ts';

/**
 * Keeps the head and the tail of a stream within `capBytes`, counts everything, and never blocks
 * the writer: a program printing forever costs us a counter, not memory.
 */
export class CappedBuffer extends Writable {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  private total = 0;
  private readonly headCap: number;
  private readonly tailCap: number;

  constructor(capBytes: number) {
    super();
    this.headCap = Math.floor(capBytes * 0.75);
    this.tailCap = capBytes - this.headCap;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headBytes < this.headCap) {
      const take = rest.subarray(0, this.headCap - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      rest = rest.subarray(take.length);
    }
    if (rest.length > 0 && this.tailCap > 0) {
      const joined = Buffer.concat([this.tail, rest]);
      this.tail = joined.subarray(Math.max(0, joined.length - this.tailCap));
    }
    done();
  }

  result(): CapturedStream {
    const kept = this.headBytes + this.tail.length;
    const truncated = this.total > kept;
    const head = Buffer.concat(this.head).toString('utf8');
    const text = truncated ? `${head}\n…[${this.total - kept} bytes omitted]…\n${this.tail.toString('utf8')}` : head + this.tail.toString('utf8');
    return { text, totalBytes: this.total, truncated };
  }
}

import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArchiveRejectedError } from '../errors.ts';
import { scanArchive, type ArchiveLimits, type ArchiveScan } from './archive-scanner.ts';

/** One file of an archive, read in memory: its text when it is small enough and not binary. */
export interface ArchiveFile {
  name: string;
  size: number;
  /** large: over the read limit; binary: not UTF-8, or holds NUL bytes (judged on the first 8 KB unless read whole). */
  kind: 'text' | 'binary' | 'large';
  /** The whole text, for the files asked for. */
  text: string | null;
}

export interface ReadOptions {
  /** Files larger than this (declared size) are listed, not read. */
  maxFileBytes: number;
  /** Which files to read whole; the others are only sniffed (their bytes still flow through the scanner's limits). */
  want?: (name: string) => boolean;
}

const SNIFF_BYTES = 8192;

/** The text, or null for binary content; `partial`: the bytes may end inside a character. */
function decode(buf: Buffer, partial = false): string | null {
  if (buf.includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf, { stream: partial });
  } catch {
    return null;
  }
}

/**
 * Reads a stored archive entry by entry into memory, through the same scanner (and limits) as an
 * upload: nothing is written to disk and nothing is run. Entries keep the archive's order.
 */
export async function readArchiveFiles(file: string, limits: ArchiveLimits, opts: ReadOptions): Promise<{ scan: ArchiveScan; files: ArchiveFile[] }> {
  const files: ArchiveFile[] = [];
  const scan = await scanArchive(file, limits, async (entry, data) => {
    const whole = opts.want?.(entry.name) ?? true;
    const keep = entry.size > opts.maxFileBytes ? 0 : whole ? entry.size : SNIFF_BYTES;
    const chunks: Buffer[] = [];
    let kept = 0;
    let got = 0;
    await pipeline(
      data as Readable,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          got += chunk.length;
          if (got > entry.size) return cb(new ArchiveRejectedError(entry.name, 'entry is larger than its declared size'));
          if (kept < keep) {
            chunks.push(chunk.subarray(0, keep - kept));
            kept += Math.min(chunk.length, keep - kept);
          }
          cb();
        },
      }),
    );
    if (entry.size > opts.maxFileBytes) {
      files.push({ name: entry.name, size: entry.size, kind: 'large', text: null });
      return;
    }
    const text = decode(Buffer.concat(chunks), !whole);
    files.push({ name: entry.name, size: entry.size, kind: text === null ? 'binary' : 'text', text: whole ? text : null });
  });
  return { scan, files };
}

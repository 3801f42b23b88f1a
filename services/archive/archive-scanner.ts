import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import yauzl from 'yauzl';
import tar from 'tar-stream';
import { ArchiveRejectedError } from '../errors.ts';

export type ArchiveFormat = 'zip' | 'tar.gz';

export interface ArchiveLimits {
  maxEntries: number;
  maxUncompressedBytes: number;
  /** Largest allowed ratio of uncompressed to compressed bytes, for the whole archive. */
  maxRatio: number;
}

export interface ArchiveEntry {
  name: string;
  size: number;
}

export interface ArchiveScan {
  format: ArchiveFormat;
  entries: ArchiveEntry[];
  uncompressedBytes: number;
}

/** Ratio checks only start past this size: tiny text files compress far better than any budget. */
const RATIO_FLOOR_BYTES = 1024 * 1024;

export async function detectFormat(file: string): Promise<ArchiveFormat> {
  const fh = await fsp.open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead >= 4 && buffer[0] === 0x50 && buffer[1] === 0x4b && (buffer[2] === 3 || buffer[2] === 5)) return 'zip';
    if (bytesRead >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) return 'tar.gz';
  } finally {
    await fh.close();
  }
  throw new ArchiveRejectedError(null, 'not a .zip or .tar.gz archive');
}

/**
 * Bidirectional controls (embeddings, overrides, isolates) and marks: they make a name display as
 * another ("report\u202Eyp.exe" shows as "reportexe.py"), so a reviewer would read the wrong name.
 */
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** An entry name as messages show it: escaped, so neither quotes nor bidi controls reorder the message. */
function showName(raw: string): string {
  return JSON.stringify(raw)
    .slice(1, -1)
    .replace(BIDI, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

/** Validates one entry name and returns it normalised (no leading "./", no trailing "/"). */
export function checkEntryName(raw: string): string {
  const reject = (why: string): never => {
    throw new ArchiveRejectedError(showName(raw), why);
  };
  if (raw.length === 0) reject('empty name');
  if (raw.length > 500) reject('name longer than 500 characters');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f]/.test(raw)) reject('control character in name');
  if (raw.search(BIDI) !== -1) reject('bidirectional control character in name (it can make the name display as another)');
  if (raw.includes('\\')) reject('backslash in name (Windows path separators are not allowed)');
  if (raw.startsWith('/')) reject('absolute path');
  if (/^[A-Za-z]:/.test(raw)) reject('drive-letter path');
  const parts = raw.split('/').filter((p, i, all) => !(p === '.' || (p === '' && i === all.length - 1)));
  if (parts.some((p) => p === '..')) reject('path traversal ("..")');
  if (parts.some((p) => p === '')) reject('empty path segment');
  return parts.join('/');
}

type Sink = (entry: ArchiveEntry, data: Readable) => Promise<void>;

class EntryBook {
  readonly entries: ArchiveEntry[] = [];
  private readonly seen = new Set<string>();
  private readonly dirs = new Set<string>();
  uncompressed = 0;
  constructor(
    private readonly limits: ArchiveLimits,
    private readonly compressedBytes: number,
  ) {}

  add(rawName: string, kind: 'file' | 'dir', declaredSize: number): string {
    const name = checkEntryName(rawName);
    if (this.entries.length + this.dirs.size >= this.limits.maxEntries) throw new ArchiveRejectedError(name, `more than ${this.limits.maxEntries} entries`);
    if (kind === 'dir') {
      if (this.seen.has(name)) throw new ArchiveRejectedError(name, 'a file and a folder share this name');
      this.dirs.add(name);
      return name;
    }
    if (this.seen.has(name) || this.dirs.has(name)) throw new ArchiveRejectedError(name, 'duplicate entry name');
    for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) if (this.seen.has(name.slice(0, i))) throw new ArchiveRejectedError(name, 'a parent of this entry is a file');
    this.seen.add(name);
    this.count(name, declaredSize);
    this.entries.push({ name, size: declaredSize });
    return name;
  }

  count(name: string | null, bytes: number): void {
    this.uncompressed += bytes;
    if (this.uncompressed > this.limits.maxUncompressedBytes) throw new ArchiveRejectedError(name, `uncompressed size exceeds ${this.limits.maxUncompressedBytes} bytes`);
    if (this.uncompressed > RATIO_FLOOR_BYTES && this.uncompressed / Math.max(1, this.compressedBytes) > this.limits.maxRatio)
      throw new ArchiveRejectedError(name, `compression ratio exceeds ${this.limits.maxRatio}:1 (zip bomb?)`);
  }
}

/**
 * Reads an archive entry by entry, enforcing the limits on what is declared *and* on what is
 * actually decompressed, rejecting links, devices, traversal and duplicates. With a sink, each
 * regular file's bytes are handed to it (for extraction); without one they are only counted.
 */
export async function scanArchive(file: string, limits: ArchiveLimits, sink?: Sink): Promise<ArchiveScan> {
  const format = await detectFormat(file);
  const { size } = await fsp.stat(file);
  const book = new EntryBook(limits, size);
  if (format === 'zip') await scanZip(file, book, sink);
  else await scanTarGz(file, book, limits, size, sink);
  return { format, entries: book.entries, uncompressedBytes: book.uncompressed };
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: true, decodeStrings: false, validateEntrySizes: true }, (err, zf) =>
      err || !zf ? reject(new ArchiveRejectedError(null, `unreadable zip: ${err?.message ?? 'unknown error'}`)) : resolve(zf),
    ),
  );
}

type RawZipEntry = { name: string; entry: yauzl.Entry };

/**
 * Each entry's local header must carry the central directory's name, byte for byte and with the
 * same UTF-8 flag (general purpose bit 11) when the name is not plain ASCII; and an Info-ZIP
 * Unicode Path field (0x7075) must not rename it. Streaming unzippers read local headers and many
 * tools prefer the Unicode Path: either way they would write names this scan never checked.
 */
async function checkLocalNames(file: string, raws: RawZipEntry[]): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    for (const { name, entry } of raws) {
      const reject = (why: string) => new ArchiveRejectedError(showName(name), why);
      const central = entry.fileNameRaw;
      const unicodePath = entry.extraFields.find((f) => f.id === 0x7075);
      if (unicodePath && !unicodePath.data.subarray(5).equals(central)) throw reject('its Unicode Path extra field gives it another name');
      const offset = entry.relativeOffsetOfLocalHeader;
      const header = Buffer.alloc(30);
      if ((await fh.read(header, 0, 30, offset)).bytesRead < 30 || header.readUInt32LE(0) !== 0x04034b50) throw reject('no local header where the central directory points');
      const local = Buffer.alloc(header.readUInt16LE(26));
      await fh.read(local, 0, local.length, offset + 30);
      if (!local.equals(central)) throw reject(`its local header names it "${showName(local.toString('utf8'))}" (the two names must agree)`);
      const utf8 = (flags: number) => flags & 0x800;
      if (central.some((b) => b >= 0x80) && utf8(header.readUInt16LE(6)) !== utf8(entry.generalPurposeBitFlag))
        throw reject('its local and central headers decode the name differently (UTF-8 flag)');
    }
  } finally {
    await fh.close();
  }
}

async function scanZip(file: string, book: EntryBook, sink?: Sink): Promise<void> {
  const zip = await openZip(file);
  const raws: RawZipEntry[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      const nameBuf = entry.fileName as unknown as Buffer;
      raws.push({ name: nameBuf.toString('utf8'), entry });
      zip.readEntry();
    });
    zip.on('end', resolve);
    zip.on('error', (e: Error) => reject(new ArchiveRejectedError(null, `unreadable zip: ${e.message}`)));
    zip.readEntry();
  });
  // Overlapping entries (one compressed stream referenced many times) are a classic bomb.
  const byOffset = [...raws].sort((a, b) => a.entry.relativeOffsetOfLocalHeader - b.entry.relativeOffsetOfLocalHeader);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!.entry;
    const cur = byOffset[i]!;
    if (prev.relativeOffsetOfLocalHeader + 30 + prev.compressedSize > cur.entry.relativeOffsetOfLocalHeader)
      throw new ArchiveRejectedError(showName(cur.name), 'entry data overlaps another entry (overlapping-entry zip bomb)');
  }
  await checkLocalNames(file, raws);
  const accepted: { raw: RawZipEntry; name: string }[] = [];
  for (const raw of raws) {
    const mode = (raw.entry.externalFileAttributes >>> 16) & 0o170000;
    const madeByUnix = raw.entry.versionMadeBy >> 8 === 3;
    const isDir = raw.name.endsWith('/');
    const shown = showName(raw.name);
    if (madeByUnix && mode === 0o120000) throw new ArchiveRejectedError(shown, 'symbolic links are not allowed');
    if (madeByUnix && mode !== 0 && mode !== 0o100000 && mode !== 0o040000) throw new ArchiveRejectedError(shown, 'special files (devices, fifos, sockets) are not allowed');
    if (raw.entry.generalPurposeBitFlag & 0x1) throw new ArchiveRejectedError(shown, 'encrypted entries are not allowed');
    const name = book.add(raw.name, isDir ? 'dir' : 'file', isDir ? 0 : raw.entry.uncompressedSize);
    if (!isDir) accepted.push({ raw, name });
  }
  if (!sink) return;
  const zip2 = await openZip(file);
  try {
    for (const { raw, name } of accepted) {
      const stream = await new Promise<Readable>((resolve, reject) =>
        zip2.openReadStream(raw.entry, (err, s) => (err || !s ? reject(new ArchiveRejectedError(name, `unreadable: ${err?.message}`)) : resolve(s))),
      );
      stream.on('error', () => {}); // late errors after the sink gave up; the sink reports the first
      await sink({ name, size: raw.entry.uncompressedSize }, stream);
    }
  } finally {
    zip2.close();
  }
}

async function scanTarGz(file: string, book: EntryBook, limits: ArchiveLimits, compressedBytes: number, sink?: Sink): Promise<void> {
  const extract = tar.extract();
  // The decompressed stream is counted as it flows, so a tar bomb is stopped long before it is read
  // whole. tar framing adds headers and padding: allow 1/8 + 1 MiB over the content budget.
  const cap = limits.maxUncompressedBytes * 1.125 + RATIO_FLOOR_BYTES;
  let decompressed = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      decompressed += chunk.length;
      if (decompressed > cap) return done(new ArchiveRejectedError(null, `uncompressed size exceeds ${limits.maxUncompressedBytes} bytes`));
      if (decompressed > RATIO_FLOOR_BYTES && decompressed / Math.max(1, compressedBytes) > limits.maxRatio * 1.125)
        return done(new ArchiveRejectedError(null, `compression ratio exceeds ${limits.maxRatio}:1 (tar bomb?)`));
      done(null, chunk);
    },
  });
  extract.on('entry', (header, stream, next) => {
    stream.on('error', () => {}); // the pipeline below reports the failure once
    const fail = (err: unknown) => {
      stream.resume();
      extract.destroy(err as Error);
    };
    try {
      const kind = header.type;
      if (kind === 'symlink') throw new ArchiveRejectedError(showName(header.name), 'symbolic links are not allowed');
      if (kind === 'link') throw new ArchiveRejectedError(showName(header.name), 'hard links are not allowed');
      if (kind === 'directory') {
        book.add(header.name, 'dir', 0);
        stream.resume();
        stream.on('end', next);
        return;
      }
      if (kind !== 'file' && kind !== 'contiguous-file') throw new ArchiveRejectedError(showName(header.name), `special entry type "${kind}" is not allowed`);
      const declared = header.size ?? 0;
      const name = book.add(header.name, 'file', declared);
      const data = stream as unknown as Readable;
      const handle = sink ? sink({ name, size: declared }, data) : drain(data);
      handle.then(() => next(), fail);
    } catch (err) {
      fail(err);
    }
  });
  try {
    await pipeline(fs.createReadStream(file), zlib.createGunzip(), limit, extract);
  } catch (err) {
    if (err instanceof ArchiveRejectedError) throw err;
    throw new ArchiveRejectedError(null, `unreadable .tar.gz: ${(err as Error).message}`);
  }
}

function drain(stream: Readable): Promise<void> {
  return pipeline(stream, new Writable({ write: (_c, _e, cb) => cb() }));
}

/**
 * Extracts a scanned archive under `dest` (which must be empty): plain files (0644) and folders
 * (0755) only, each path checked to stay inside `dest`, each file's real size capped to its
 * declared size by the readers above.
 */
export async function extractArchive(file: string, dest: string, limits: ArchiveLimits): Promise<ArchiveScan> {
  const root = path.resolve(dest);
  await fsp.mkdir(root, { recursive: true, mode: 0o755 });
  return scanArchive(file, limits, async (entry, data) => {
    const target = path.resolve(root, entry.name);
    if (!target.startsWith(root + path.sep)) throw new ArchiveRejectedError(entry.name, 'path escapes the extraction folder');
    await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    let written = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _e, done) {
        written += chunk.length;
        if (written > entry.size) return done(new ArchiveRejectedError(entry.name, 'entry is larger than its declared size'));
        done(null, chunk);
      },
    });
    await pipeline(data, cap, fs.createWriteStream(target, { flags: 'wx', mode: 0o644 }));
  });
}

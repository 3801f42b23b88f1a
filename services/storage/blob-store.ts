import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { PayloadTooLargeError } from '../errors.ts';

export interface StoredBlob {
  sha256: string;
  bytes: number;
  /** A readable copy on this host (the upload scan reads it). */
  path: string;
}

/**
 * Content-addressed blob storage, one interface for every backend: the local disk (one machine) and
 * Postgres (services/storage/postgres-blob-store.ts: every host reaches it). Chosen by BLOB_STORE.
 */
export interface BlobStore {
  /** Streams, hashes and counts `source`; refuses more than maxBytes with onTooLarge(), leaving nothing behind. Same bytes, same blob. */
  put(source: Readable, maxBytes: number, onTooLarge?: () => Error): Promise<StoredBlob>;
  /**
   * True when the blob is stored. Once true, `pathOf(sha256)` is readable on this host: a shared
   * store fetches it into the local cache first and verifies its hash (BlobCorruptError if not).
   */
  exists(sha256: string): Promise<boolean>;
  /** Where the blob is (or will be, after exists()) on this host's disk. */
  pathOf(sha256: string): string;
  remove(sha256: string): Promise<void>;
  /** Temporary files left by a crash mid-upload or mid-fetch. */
  sweepTemp(olderThanMs?: number): Promise<number>;
}

export const SHA256_HEX = /^[a-f0-9]{64}$/;

/**
 * Content-addressed storage on the local disk: blobs/sha256/<2 hex>/<64 hex>. A blob is streamed
 * to a temporary file while hashed and counted, then renamed into place; a failed or over-size
 * write leaves nothing behind.
 */
export class DiskBlobStore implements BlobStore {
  private readonly root: string;
  private readonly tmp: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'blobs', 'sha256');
    this.tmp = path.join(dataDir, 'blobs', 'tmp');
  }

  /** A fresh temporary file name (for writers that fill it themselves and then call adopt). */
  async tempPath(): Promise<string> {
    await fsp.mkdir(this.tmp, { recursive: true });
    return path.join(this.tmp, crypto.randomUUID());
  }

  /** Moves a verified temporary file into its content address. */
  async adopt(tmpPath: string, sha256: string): Promise<string> {
    const finalPath = this.pathOf(sha256);
    await fsp.mkdir(path.dirname(finalPath), { recursive: true });
    await fsp.rename(tmpPath, finalPath);
    return finalPath;
  }

  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  async put(source: Readable, maxBytes: number, onTooLarge: () => Error = () => new PayloadTooLargeError(maxBytes)): Promise<StoredBlob> {
    const tmpPath = await this.tempPath();
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > maxBytes) return done(onTooLarge());
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, fs.createWriteStream(tmpPath, { flags: 'wx', mode: 0o640 }));
      const sha256 = hash.digest('hex');
      return { sha256, bytes, path: await this.adopt(tmpPath, sha256) };
    } catch (err) {
      await fsp.rm(tmpPath, { force: true });
      throw err;
    }
  }

  async exists(sha256: string): Promise<boolean> {
    return fsp.access(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  async remove(sha256: string): Promise<void> {
    await fsp.rm(this.pathOf(sha256), { force: true });
  }

  async sweepTemp(olderThanMs = 3_600_000): Promise<number> {
    const names = await fsp.readdir(this.tmp).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const p = path.join(this.tmp, name);
      const st = await fsp.stat(p).catch(() => null);
      if (st && Date.now() - st.mtimeMs > olderThanMs) {
        await fsp.rm(p, { force: true });
        removed++;
      }
    }
    return removed;
  }
}

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { withTransaction, type Db } from '../db/pool.ts';
import { DiskBlobStore, SHA256_HEX, type BlobStore, type StoredBlob } from './blob-store.ts';
import { BlobCorruptError } from './blob-corrupt-error.ts';

/** Chunk size in Postgres: big enough that a 20 MB archive is 20 rows, small enough to hold one in memory. */
export const BLOB_CHUNK_BYTES = 1024 * 1024;

/**
 * Blobs in Postgres (migration 010: `blobs` and `blob_chunks`, bytea rows of BLOB_CHUNK_BYTES), so
 * every host that reaches the database reaches every blob: the API stores an upload, a worker on
 * another machine grades it. No extra service to run.
 *
 * The local disk (DiskBlobStore under DATA_DIR) is this host's cache and working copy: an upload is
 * streamed there first (hashed, counted, refused over the limit), then copied chunk by chunk into
 * Postgres in one transaction, so a blob is visible to other hosts whole or not at all. A host that
 * lacks a blob fetches it chunk by chunk (one query per chunk: memory stays at one chunk whatever
 * the size) into a temporary file, checks size and sha256, and only then moves it into the cache.
 */
export class PostgresBlobStore implements BlobStore {
  private readonly cache: DiskBlobStore;

  constructor(
    private readonly db: Db,
    dataDir: string,
  ) {
    this.cache = new DiskBlobStore(dataDir);
  }

  pathOf(sha256: string): string {
    return this.cache.pathOf(sha256);
  }

  async put(source: Readable, maxBytes: number, onTooLarge?: () => Error): Promise<StoredBlob> {
    const blob = await this.cache.put(source, maxBytes, onTooLarge);
    await withTransaction(this.db, async (c) => {
      // A concurrent put of the same bytes waits here on the primary key and then finds it stored.
      const { rowCount } = await c.query(`INSERT INTO blobs (sha256, bytes, chunk_bytes, chunks) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING`, [
        blob.sha256,
        blob.bytes,
        BLOB_CHUNK_BYTES,
        Math.ceil(blob.bytes / BLOB_CHUNK_BYTES),
      ]);
      if (rowCount === 0) return;
      const file = await fsp.open(blob.path, 'r');
      try {
        const buf = Buffer.allocUnsafe(BLOB_CHUNK_BYTES);
        for (let seq = 0, offset = 0; offset < blob.bytes; seq++) {
          const { bytesRead } = await file.read(buf, 0, BLOB_CHUNK_BYTES, offset);
          if (bytesRead === 0) throw new Error(`blob ${blob.sha256} shrank while being stored`);
          await c.query(`INSERT INTO blob_chunks (sha256, seq, data) VALUES ($1, $2, $3)`, [blob.sha256, seq, buf.subarray(0, bytesRead)]);
          offset += bytesRead;
        }
      } finally {
        await file.close();
      }
    });
    return blob;
  }

  async exists(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    if (await this.cache.exists(sha256)) return true;
    return this.fetch(sha256);
  }

  async remove(sha256: string): Promise<void> {
    await this.db.query(`DELETE FROM blobs WHERE sha256 = $1`, [sha256]);
    await this.cache.remove(sha256);
  }

  sweepTemp(olderThanMs?: number): Promise<number> {
    return this.cache.sweepTemp(olderThanMs);
  }

  /** Copies a blob from Postgres into the local cache, verified; false when Postgres does not have it. */
  private async fetch(sha256: string): Promise<boolean> {
    const head = await this.db.query<{ bytes: string; chunks: number }>(`SELECT bytes, chunks FROM blobs WHERE sha256 = $1`, [sha256]);
    if (head.rows.length === 0) return false;
    const expectedBytes = Number(head.rows[0]!.bytes);
    const { chunks } = head.rows[0]!;
    const tmpPath = await this.cache.tempPath();
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    const out = fs.createWriteStream(tmpPath, { flags: 'wx', mode: 0o640 });
    const closed = new Promise<void>((resolve, reject) => {
      out.on('close', resolve);
      out.on('error', reject);
    });
    try {
      for (let seq = 0; seq < chunks; seq++) {
        const r = await this.db.query<{ data: Buffer }>(`SELECT data FROM blob_chunks WHERE sha256 = $1 AND seq = $2`, [sha256, seq]);
        const data = r.rows[0]?.data;
        if (!data) throw new BlobCorruptError(sha256, `chunk ${seq} of ${chunks} is missing`);
        bytes += data.length;
        if (bytes > expectedBytes) throw new BlobCorruptError(sha256, `more than the recorded ${expectedBytes} bytes`);
        hash.update(data);
        if (!out.write(data)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      out.end();
      await closed;
      if (bytes !== expectedBytes) throw new BlobCorruptError(sha256, `${bytes} bytes, ${expectedBytes} recorded`);
      const actual = hash.digest('hex');
      if (actual !== sha256) throw new BlobCorruptError(sha256, `its content hashes to ${actual}`);
      await this.cache.adopt(tmpPath, sha256);
      return true;
    } catch (err) {
      out.destroy();
      await fsp.rm(tmpPath, { force: true });
      throw err;
    }
  }
}

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Db } from '../../services/db/pool.ts';
import { migrate } from '../../services/db/migrate.ts';
import { PostgresBlobStore, BLOB_CHUNK_BYTES } from '../../services/storage/postgres-blob-store.ts';
import { BlobCorruptError } from '../../services/storage/blob-corrupt-error.ts';
import { PayloadTooLargeError } from '../../services/errors.ts';
import { createGradingProcessor } from '../../services/grading/grading-processor.ts';
import { throwawayDatabase } from '../support/throwaway-database.ts';
import { testContext, listFiles, ROOT, type DockerContext } from '../support/context.ts';
import { tarGzOfFolder } from '../support/archives.ts';

/**
 * BLOB_STORE=postgres: what one host stores, another host (its own DATA_DIR, nothing shared but the
 * database) reads, verified; streamed both ways; refused over the limit; damage is detected.
 */
describe('Postgres blob store', () => {
  let database: { url: string; drop(): Promise<void> };
  let db: Db;
  const dirs: string[] = [];
  const host = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blob-host-'));
    dirs.push(dir);
    return { dir, store: new PostgresBlobStore(db, dir) };
  };
  const rows = async (sha256: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM blob_chunks WHERE sha256 = $1`, [sha256])).rows[0]!.n;

  beforeAll(async () => {
    database = await throwawayDatabase();
    db = createPool(database.url);
    await migrate(db);
  });
  afterAll(async () => {
    await db?.end();
    await database?.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a blob stored on one host is read on another, byte for byte; the same bytes are stored once', async () => {
    const a = host();
    const b = host();
    const bytes = crypto.randomBytes(2 * BLOB_CHUNK_BYTES + 12_345);
    const stored = await a.store.put(Readable.from([bytes]), 10 * BLOB_CHUNK_BYTES);
    expect(stored.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
    expect(await rows(stored.sha256)).toBe(3);

    expect(fs.existsSync(b.store.pathOf(stored.sha256))).toBe(false);
    expect(await b.store.exists(stored.sha256)).toBe(true);
    expect(fs.readFileSync(b.store.pathOf(stored.sha256)).equals(bytes)).toBe(true);

    // Stored again from the other host: same address, no second copy in the database.
    const again = await b.store.put(Readable.from([bytes]), 10 * BLOB_CHUNK_BYTES);
    expect(again.sha256).toBe(stored.sha256);
    expect((await db.query(`SELECT 1 FROM blobs WHERE sha256 = $1`, [stored.sha256])).rowCount).toBe(1);
    expect(await rows(stored.sha256)).toBe(3);

    const c = host();
    expect(await c.store.exists('0'.repeat(64))).toBe(false);
    await a.store.remove(stored.sha256);
    expect(await rows(stored.sha256)).toBe(0);
    expect(await c.store.exists(stored.sha256)).toBe(false);
  });

  it('refuses a blob over the limit: nothing in the database, nothing left on disk', async () => {
    const a = host();
    const before = (await db.query(`SELECT count(*)::int AS n FROM blobs`)).rows[0].n;
    const big = Readable.from(
      (function* () {
        for (let i = 0; i < 5; i++) yield crypto.randomBytes(BLOB_CHUNK_BYTES);
      })(),
    );
    await expect(a.store.put(big, 3 * BLOB_CHUNK_BYTES)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect((await db.query(`SELECT count(*)::int AS n FROM blobs`)).rows[0].n).toBe(before);
    expect(listFiles(path.join(a.dir, 'blobs'))).toEqual([]);
  });

  it('a damaged or missing chunk is detected on read and never lands in the cache', async () => {
    const a = host();
    const bytes = crypto.randomBytes(BLOB_CHUNK_BYTES + 10);
    const { sha256 } = await a.store.put(Readable.from([bytes]), 10 * BLOB_CHUNK_BYTES);
    await db.query(`UPDATE blob_chunks SET data = set_byte(data, 7, (get_byte(data, 7) + 1) % 256) WHERE sha256 = $1 AND seq = 1`, [sha256]);
    const b = host();
    const err = await b.store.exists(sha256).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobCorruptError);
    expect((err as Error).message).toMatch(/hashes to/);
    expect(listFiles(path.join(b.dir, 'blobs'))).toEqual([]);

    await db.query(`DELETE FROM blob_chunks WHERE sha256 = $1 AND seq = 1`, [sha256]);
    await expect(host().store.exists(sha256)).rejects.toThrow(/chunk 1 of 2 is missing/);
  });

  it('streams a 50 MB blob in and out: memory stays far below the blob size', async () => {
    const a = host();
    const b = host();
    const total = 50 * 1024 * 1024;
    const piece = 64 * 1024;
    const hash = crypto.createHash('sha256');
    const source = Readable.from(
      (function* () {
        for (let sent = 0; sent < total; sent += piece) {
          const p = crypto.randomBytes(piece);
          hash.update(p);
          yield p;
        }
      })(),
    );
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const base = used();
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, used() - base)), 5);
    try {
      const stored = await a.store.put(source, total);
      expect(stored.sha256).toBe(hash.digest('hex'));
      expect(await b.store.exists(stored.sha256)).toBe(true);
      expect(fs.statSync(b.store.pathOf(stored.sha256)).size).toBe(total);
    } finally {
      clearInterval(sampler);
    }
    console.log(`50 MB blob through Postgres: peak heap+buffers above start ${(peak / 1024 / 1024).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(total / 2);
  }, 120_000);
});

describe('a grading of an archive stored by another host', () => {
  let api: DockerContext;
  let worker: DockerContext;
  let database: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    database = await throwawayDatabase();
    // Two "hosts": each its own DATA_DIR (testContext makes one per context); only Postgres is shared.
    api = await testContext({ DATABASE_URL: database.url, BLOB_STORE: 'postgres' });
    worker = await testContext({ DATABASE_URL: database.url, BLOB_STORE: 'postgres' });
  });
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await database?.drop();
  });

  it('the worker fetches the archive from Postgres, verified, and grades it', async () => {
    expect(api.config.DATA_DIR).not.toBe(worker.config.DATA_DIR);
    const folder = await fsp.mkdtemp(path.join(os.tmpdir(), 'remote-'));
    await fsp.cp(path.join(ROOT, 'tests/fixtures/submissions/smoke/good'), folder, { recursive: true });
    const blob = await api.blobs.put(Readable.from([await tarGzOfFolder(folder)]), 10 * 1024 * 1024);
    await fsp.rm(folder, { recursive: true });
    const { submission } = await api.submissions.createSubmission({
      assessmentId: 'smoke-binary',
      archiveSha256: blob.sha256,
      archiveBytes: blob.bytes,
      archiveFormat: 'tar.gz',
      fileName: 'good.tar.gz',
      candidate: null,
      inviteId: null,
    });
    const { grading } = await api.submissions.createGrading(submission.id, `initial:${submission.id}`, 'initial');
    expect(fs.existsSync(worker.blobs.pathOf(blob.sha256))).toBe(false);

    const events: unknown[] = [];
    const process = createGradingProcessor(worker, async (e) => void events.push(e));
    const { reportId } = await process({ gradingId: grading.id }, { id: 'j1', attemptsMade: 0 });
    expect(reportId).not.toBeNull();
    const report = await worker.reports.latest(submission.id);
    expect(report?.document).toMatchObject({ submissionId: submission.id, gradingId: grading.id });
    expect((await worker.submissions.latestGrading(submission.id))?.status).toBe('completed');
    expect(events).toHaveLength(1);

    // The same archive damaged in the database: a third host refuses it for good, saying why.
    const third = await testContext({ DATABASE_URL: database.url, BLOB_STORE: 'postgres' });
    try {
      await third.db.query(`UPDATE blob_chunks SET data = set_byte(data, 0, (get_byte(data, 0) + 1) % 256) WHERE sha256 = $1 AND seq = 0`, [blob.sha256]);
      const { grading: again } = await api.submissions.createGrading(submission.id, `retry:${grading.id}`, 'retry');
      const err = await createGradingProcessor(third, async () => {})({ gradingId: again.id }, { id: 'j2', attemptsMade: 0 }).catch((e: unknown) => e);
      expect((err as Error).name).toBe('UnrecoverableError');
      expect((err as Error).message).toMatch(new RegExp(`stored blob ${blob.sha256} is corrupt`));
    } finally {
      await third.close();
    }
  }, 300_000);
});

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawayDatabase } from '../support/throwaway-database.ts';
import { testContext, eventually, ROOT, type DockerContext } from '../support/context.ts';
import { spawnWorker, stopWorker } from '../support/worker-process.ts';
import { tarGzOfFolder } from '../support/archives.ts';

/**
 * Two worker "hosts": separate processes, each its own DATA_DIR (work folder and blob cache), sharing
 * only Postgres (blobs included, BLOB_STORE=postgres) and Redis; the Docker engine is this machine's.
 * The API side stores the archives. Host A is killed mid-grading; host B finishes its grading and
 * grades the other: every grading completes once, with one report.
 */
describe('two worker hosts, one killed mid-grading', () => {
  let database: { url: string; drop(): Promise<void> };
  let api: DockerContext;
  let hostA: DockerContext;
  let hostB: DockerContext;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    database = await throwawayDatabase();
    api = await testContext({ DATABASE_URL: database.url, BLOB_STORE: 'postgres' });
    const shared = { DATABASE_URL: database.url, BLOB_STORE: 'postgres', QUEUE_PREFIX: api.config.QUEUE_PREFIX };
    hostA = await testContext(shared);
    hostB = await testContext(shared);
  });
  afterAll(async () => {
    for (const w of workers) await stopWorker(w);
    await hostA?.close();
    await hostB?.close();
    await api?.close();
    await database?.drop();
  });

  async function submit(tag: string) {
    const folder = await fsp.mkdtemp(path.join(os.tmpdir(), 'hosts-'));
    await fsp.cp(path.join(ROOT, 'tests/fixtures/submissions/smoke/good'), folder, { recursive: true });
    await fsp.writeFile(path.join(folder, 'NOTES.md'), `${tag}\n`);
    const blob = await api.blobs.put(Readable.from([await tarGzOfFolder(folder)]), 10 * 1024 * 1024);
    await fsp.rm(folder, { recursive: true });
    const { submission } = await api.submissions.createSubmission({
      assessmentId: 'smoke-binary',
      archiveSha256: blob.sha256,
      archiveBytes: blob.bytes,
      archiveFormat: 'tar.gz',
      fileName: `${tag}.tar.gz`,
      candidate: null,
      inviteId: null,
    });
    const { grading } = await api.submissions.createGrading(submission.id, `initial:${submission.id}`, 'initial');
    await api.queue.enqueue(grading.id, { assessmentId: 'smoke-binary', reason: 'initial' });
    return { grading, blob };
  }
  const row = async (id: string) => (await api.db.query(`SELECT status, worker_host, attempts FROM gradings WHERE id = $1`, [id])).rows[0];

  it('host B finishes what host A was grading when A died, and grades the rest; nothing twice', async () => {
    const first = await submit('first');
    const a = spawnWorker(hostA, { BLOB_STORE: 'postgres', WORKER_CONCURRENCY: '1' });
    workers.push(a);
    // A takes the first grading; kill it once the grading is inside the sandbox.
    await eventually(async () => {
      const r = await row(first.grading.id);
      return r.status === 'running' && r.worker_host.endsWith(`/${a.pid}`);
    }, 240_000);
    const second = await submit('second');
    a.kill('SIGKILL');
    await new Promise((r) => a.once('exit', r));

    const b = spawnWorker(hostB, { BLOB_STORE: 'postgres', WORKER_CONCURRENCY: '1' });
    workers.push(b);
    for (const g of [first.grading, second.grading]) await eventually(async () => ((await row(g.id)).status === 'completed' ? true : null), 480_000, 1_000);

    for (const g of [first.grading, second.grading]) {
      const r = await row(g.id);
      expect(r.worker_host).toMatch(new RegExp(`/${b.pid}$`));
      expect(await api.reports.countForGrading(g.id)).toBe(1);
    }
    expect((await row(first.grading.id)).attempts).toBeGreaterThanOrEqual(2);
    // Host B read both archives through Postgres into its own cache; A never saw the second.
    expect(fs.existsSync(hostB.blobs.pathOf(first.blob.sha256)) && fs.existsSync(hostB.blobs.pathOf(second.blob.sha256))).toBe(true);
    expect(fs.existsSync(hostA.blobs.pathOf(second.blob.sha256))).toBe(false);
  }, 900_000);
});

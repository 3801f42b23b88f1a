import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGradingProcessor } from '../../services/grading/grading-processor.ts';
import { pinRunnerImage, RunnerImageMismatchError } from '../../services/grading/runner-image-pin.ts';
import { assertRunnerImage } from '../../workers/grading-worker.ts';
import { buildApp } from '../../services/api/app.ts';
import { throwawayDatabase } from '../support/throwaway-database.ts';
import { testContext, ROOT, type DockerContext } from '../support/context.ts';
import { tarGzOfFolder } from '../support/archives.ts';

/** A grading is pinned to the runner image of its first attempt; a host with another image refuses it. */
describe('runner image pin', () => {
  let ctx: DockerContext;
  let database: { url: string; drop(): Promise<void> };
  let local: string;
  const other = `sha256:${'0'.repeat(64)}`;

  beforeAll(async () => {
    database = await throwawayDatabase();
    ctx = await testContext({ DATABASE_URL: database.url });
    local = await ctx.sandbox.imageId(ctx.config.RUNNER_IMAGE);
  });
  afterAll(async () => {
    await ctx?.close();
    await database?.drop();
  });

  async function newGrading(tag: string) {
    const folder = await fsp.mkdtemp(path.join(os.tmpdir(), 'pin-'));
    await fsp.cp(path.join(ROOT, 'tests/fixtures/submissions/smoke/good'), folder, { recursive: true });
    await fsp.writeFile(path.join(folder, 'NOTES.md'), `${tag}\n`);
    const blob = await ctx.blobs.put(Readable.from([await tarGzOfFolder(folder)]), 10 * 1024 * 1024);
    await fsp.rm(folder, { recursive: true });
    const { submission } = await ctx.submissions.createSubmission({
      assessmentId: 'smoke-binary',
      archiveSha256: blob.sha256,
      archiveBytes: blob.bytes,
      archiveFormat: 'tar.gz',
      fileName: 'a.tar.gz',
      candidate: null,
      inviteId: null,
    });
    return (await ctx.submissions.createGrading(submission.id, `initial:${submission.id}`, 'initial')).grading;
  }
  const pinnedOf = async (id: string) => (await ctx.db.query(`SELECT runner_image_digest AS d FROM gradings WHERE id = $1`, [id])).rows[0].d;

  it('the first attempt pins; the same image passes again; another image is refused, naming both', async () => {
    const g = await newGrading('pin-a');
    await pinRunnerImage(ctx.db, g.id, local);
    await pinRunnerImage(ctx.db, g.id, local);
    expect(await pinnedOf(g.id)).toBe(local);
    const err = await pinRunnerImage(ctx.db, g.id, other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunnerImageMismatchError);
    expect((err as Error).message).toContain(`pinned to runner image ${local}, but this host has ${other}`);
    expect(await pinnedOf(g.id)).toBe(local);
  });

  it('a worker whose image differs from the grading’s pin refuses before any candidate code runs', async () => {
    const g = await newGrading('pin-b');
    await ctx.db.query(`UPDATE gradings SET runner_image_digest = $2 WHERE id = $1`, [g.id, other]);
    const before = await ctx.sandbox.listManaged();
    const err = await createGradingProcessor(ctx, async () => {})({ gradingId: g.id }, { id: 'j', attemptsMade: 0 }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`grading ${g.id} is pinned to runner image ${other}, but this host has ${local}; refusing to grade it here`);
    expect(await ctx.sandbox.listManaged()).toEqual(before);
    expect(await ctx.reports.countForGrading(g.id)).toBe(0);
  }, 120_000);

  it('a worker does not start when its runner image is not the deployment’s pinned digest', async () => {
    await expect(assertRunnerImage({ sandbox: ctx.sandbox, config: { ...ctx.config, RUNNER_IMAGE_DIGEST: other } })).rejects.toThrow(/not the pinned sha256:0{64}; not starting/);
    await expect(assertRunnerImage({ sandbox: ctx.sandbox, config: { ...ctx.config, RUNNER_IMAGE_DIGEST: local } })).resolves.toBeUndefined();
  });

  it('/metrics shows what an autoscaler watches: the oldest queued grading’s age and gradings running per host', async () => {
    const queued = await newGrading('metrics-q');
    await ctx.db.query(`UPDATE gradings SET queued_at = now() - interval '90 seconds' WHERE id = $1`, [queued.id]);
    const running = await newGrading('metrics-r');
    await ctx.submissions.markStarted(running.id, 'host-b/123');
    const app = await buildApp(ctx);
    try {
      const body = (await app.inject({ url: '/metrics' })).body;
      expect(Number(/^grader_oldest_queued_seconds ([\d.]+)$/m.exec(body)?.[1])).toBeGreaterThanOrEqual(90);
      expect(body).toMatch(/^grader_running_gradings\{host="host-b"\} 1$/m);
    } finally {
      await app.close();
    }
  });
});

import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { SubmissionService } from '../../services/submissions/submission-service.ts';
import { ROOT, eventually, listFiles, testContext, type DockerContext } from '../support/context.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { spawnWorker, stopWorker } from '../support/worker-process.ts';
import { recordCase } from '../support/security-cases.ts';
import { Readable } from 'node:stream';

const FIXTURES = path.join(ROOT, 'tests/fixtures/submissions/smoke');
let ctx: DockerContext;
let service: SubmissionService;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  ctx = await testContext({ PHASE_TIMEOUT_CAP_S: 20 });
  service = new SubmissionService(ctx);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map(stopWorker));
});
afterAll(async () => ctx.close());

async function submit(fixture: string) {
  const data = await tarGzOfFolder(path.join(FIXTURES, fixture));
  const a = await service.accept({ assessmentId: 'smoke-binary', fileName: `${fixture}.tar.gz`, stream: Readable.from([data]) });
  return a.grading.id;
}
const containersOf = async (gradingId: string) => (await ctx.sandbox.listManaged()).filter((c) => c.gradingId === gradingId);

describe('faults', () => {
  it('case 15: SIGKILL of the worker mid-grading: the job re-runs, the orphan container is removed, one report', async () => {
    const gradingId = await submit('slow');
    const first = spawnWorker(ctx);
    workers.push(first);
    await eventually(async () => (await containersOf(gradingId)).some((c) => c.state === 'running'), 60_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect((await containersOf(gradingId)).length).toBeGreaterThan(0); // the orphan, for now
    const second = spawnWorker(ctx);
    workers.push(second);
    await eventually(async () => (await ctx.submissions.getGrading(gradingId))?.status === 'completed', 120_000);
    expect(await ctx.reports.countForGrading(gradingId)).toBe(1);
    const g = (await ctx.submissions.getGrading(gradingId))!;
    expect(g.attempts).toBeGreaterThanOrEqual(2);
    await eventually(async () => (await containersOf(gradingId)).length === 0, 30_000);
    expect(listFiles(path.join(ctx.config.DATA_DIR, 'work'))).toEqual([]);
    recordCase(15, 'SIGKILL a worker mid-job', `re-run after kill, ${g.attempts} attempts, 1 report, orphan container removed`);
  });

  it('SIGKILL during 10 queued gradings still yields 10 reports, each exactly once, and no container left', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await submit(i % 2 ? 'good' : 'slow'));
    const first = spawnWorker(ctx, { WORKER_CONCURRENCY: '2' });
    workers.push(first);
    await eventually(async () => {
      const { rows } = await ctx.db.query(`SELECT count(*)::int AS n FROM gradings WHERE id = ANY($1) AND status = 'completed'`, [ids]);
      return rows[0].n >= 2 && (await ctx.sandbox.listManaged()).some((c) => ids.includes(c.gradingId));
    }, 120_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = spawnWorker(ctx, { WORKER_CONCURRENCY: '2' });
    workers.push(second);
    await eventually(
      async () => {
        const { rows } = await ctx.db.query(`SELECT count(*)::int AS n FROM gradings WHERE id = ANY($1) AND status = 'completed'`, [ids]);
        return rows[0].n === 10;
      },
      300_000,
      1_000,
    );
    const { rows } = await ctx.db.query(`SELECT grading_id, count(*)::int AS n FROM reports WHERE grading_id = ANY($1) GROUP BY grading_id`, [ids]);
    expect(rows.length).toBe(10);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    await eventually(async () => (await ctx.sandbox.listManaged()).filter((c) => ids.includes(c.gradingId)).length === 0, 30_000);
    recordCase(15, 'SIGKILL during 10 queued gradings', '10 reports, each exactly once, no container left');
  });
});

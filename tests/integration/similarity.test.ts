import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../services/api/app.ts';
import { SimilarityRepository } from '../../services/similarity/similarity-repository.ts';
import { SimilarityService } from '../../services/similarity/similarity-service.ts';
import { gradingSubscribers } from '../../workers/grading-subscribers.ts';
import { startSimilarityWorker } from '../../workers/similarity-worker.ts';
import { makeTarGz } from '../support/archives.ts';
import { eventually, testContext, type DockerContext } from '../support/context.ts';
import { reviewerCookie } from '../support/review-session.ts';
import { throwawayDatabase } from '../support/throwaway-database.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/similarity');
// original.py: the exemplary churn solution, whose renamed-copy.py is a disguised copy.
const ORIGINAL = path.resolve(FIXTURES, '../submissions/churn/exemplary/solution.py');
const read = (name: string) => fs.readFileSync(name === 'original.py' ? ORIGINAL : path.join(FIXTURES, name), 'utf8');
const ASSESSMENT = 'churn-messy-csv';

/** The same code as a notebook: one code cell per top-level block, markdown between. */
function asNotebook(py: string): string {
  const cells = py.split(/\n(?=def |class )/).flatMap((code) => [
    { cell_type: 'markdown', metadata: {}, source: ['Next step\n'] },
    { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: code.split(/(?<=\n)/) },
  ]);
  return JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 });
}

let ctx: DockerContext;
let db: Awaited<ReturnType<typeof throwawayDatabase>>;
let similarity: SimilarityRepository;
let service: SimilarityService;

async function submit(files: Record<string, string>, candidate: string): Promise<string> {
  const bytes = await makeTarGz(Object.entries(files).map(([name, data]) => ({ name, data })));
  const blob = await ctx.blobs.put(Readable.from([bytes]), 10 * 1024 * 1024);
  const { submission } = await ctx.submissions.createSubmission({
    assessmentId: ASSESSMENT,
    archiveSha256: blob.sha256,
    archiveBytes: blob.bytes,
    archiveFormat: 'tar.gz',
    fileName: `${candidate}-${crypto.randomBytes(3).toString('hex')}.tar.gz`,
    candidate,
    inviteId: null,
  });
  return submission.id;
}

beforeAll(async () => {
  // Its own database: the index of an assessment holds every document stored in it.
  db = await throwawayDatabase();
  // Similarity runs follow the webhook retry policy: two quick attempts here.
  ctx = await testContext({ DATABASE_URL: db.url, WEBHOOK_ATTEMPTS: 2, WEBHOOK_BACKOFF_MS: 50 });
  similarity = new SimilarityRepository(ctx.db);
  service = new SimilarityService({ ...ctx, similarity });
});
afterAll(async () => {
  await ctx?.close();
  await db?.drop();
});

describe('similarity across the cohort (stored index, real archives)', () => {
  const ids: Record<string, string> = {};

  it('a renamed, reordered copy is paired with the earlier original above 0.8; the original alone has no pair', async () => {
    ids.original = await submit({ 'solution.py': read('original.py'), 'NOTES.md': '# notes\n' }, 'Ada');
    const first = await service.indexSubmission(ids.original);
    expect(first.stored).toBe(0);
    ids.copy = await submit({ 'solution.py': read('renamed-copy.py') }, 'Bob');
    const second = await service.indexSubmission(ids.copy);
    expect(second.compared).toBeGreaterThanOrEqual(1);
    const [top] = await similarity.pairsOfSubmission(ids.copy);
    expect(top!.other.submissionId).toBe(ids.original);
    expect(top!.similarity).toBeGreaterThan(0.8);
    expect(top!.fragments[0]!.kgrams).toBeGreaterThan(10);
    // Seen from the original too, without comparing it again.
    expect((await similarity.pairsOfSubmission(ids.original))[0]!.other.submissionId).toBe(ids.copy);
  });

  it('a notebook compares with a .py file (its code cells, read as text)', async () => {
    ids.notebook = await submit({ 'work/solution.ipynb': asNotebook(read('original.py')) }, 'Cy');
    await service.indexSubmission(ids.notebook);
    const pairs = await similarity.pairsOfSubmission(ids.notebook);
    const withOriginal = pairs.find((p) => p.other.submissionId === ids.original);
    expect(withOriginal?.similarity).toBeGreaterThan(0.8);
  });

  it('an independent solution scores below 0.3 against the others; one matching an uploaded reference is paired with it', async () => {
    ids.independent = await submit({ 'solution.py': read('independent-a.py') }, 'Dee');
    await service.indexSubmission(ids.independent);
    // Another pandas pipeline of the same contract shares some structure, well below a copy.
    const independent = await similarity.pairsOfSubmission(ids.independent);
    for (const p of independent) expect(p.similarity).toBeLessThan(0.3);

    await service.addReference(ASSESSMENT, 'leaked answer (forum post)', [{ name: 'answer.py', text: read('independent-b.py') }]);
    ids.leaker = await submit({ 'solution.py': read('independent-b.py').replace(/threshold/g, 'cut_off') }, 'Eve');
    await service.indexSubmission(ids.leaker);
    const [top] = await similarity.pairsOfSubmission(ids.leaker);
    expect(top!.other).toMatchObject({ kind: 'reference', name: 'leaked answer (forum post)', submissionId: null });
    expect(top!.similarity).toBeGreaterThan(0.8);
  });

  it('a completed grading queues a similarity run that the worker records as done; a failed grading queues none', async () => {
    const id = await submit({ 'solution.py': read('renamed-copy.py') }, 'Fay');
    const events = gradingSubscribers(ctx);
    const worker = startSimilarityWorker(ctx);
    try {
      const common = { submissionId: id, assessmentId: ASSESSMENT, reason: 'initial' as const, regradeId: null, finishedAt: new Date().toISOString() };
      await events.publish({ ...common, gradingId: crypto.randomUUID(), status: 'failed', attempts: 3, error: 'docker down' });
      expect(await similarity.run(id)).toBeNull();
      await events.publish({ ...common, gradingId: crypto.randomUUID(), status: 'completed', reportId: crypto.randomUUID(), score: 80, passed: true, rubricVersion: 1 });
      const run = await eventually(async () => {
        const r = await similarity.run(id);
        return r?.status === 'done' ? r : null;
      }, 60_000);
      expect(run.compared).toBeGreaterThanOrEqual(2);
      expect((await similarity.pairsOfSubmission(id))[0]!.similarity).toBeGreaterThan(0.8);
    } finally {
      await worker.close();
    }
  });

  it('a similarity run that cannot read its archive is retried, then recorded as failed with the error; the grading event still completes', async () => {
    const { submission } = await ctx.submissions.createSubmission({
      assessmentId: ASSESSMENT,
      archiveSha256: 'f'.repeat(64),
      archiveBytes: 1,
      archiveFormat: 'tar.gz',
      fileName: 'gone.tar.gz',
      candidate: 'Gus',
      inviteId: null,
    });
    const events = gradingSubscribers(ctx);
    const worker = startSimilarityWorker(ctx);
    try {
      await events.publish({
        submissionId: submission.id,
        assessmentId: ASSESSMENT,
        reason: 'initial',
        regradeId: null,
        finishedAt: new Date().toISOString(),
        gradingId: crypto.randomUUID(),
        status: 'completed',
        reportId: crypto.randomUUID(),
        score: 80,
        passed: true,
        rubricVersion: 1,
      });
      const run = await eventually(async () => {
        const r = await similarity.run(submission.id);
        return r?.status === 'failed' ? r : null;
      }, 60_000);
      expect(run.attempts).toBe(2);
      expect(run.lastError).toMatch(/stored archive/);
    } finally {
      await worker.close();
    }
  });

  it('the reviewer sees the matches (other candidate named and linked) and the pair side by side; without a session the page is refused', async () => {
    const app = await buildApp(ctx);
    try {
      const anonymous = await app.inject({ method: 'GET', url: `/review/submissions/${ids.copy}/similarity` });
      expect(anonymous.statusCode).not.toBe(200);
      expect(anonymous.body).not.toContain('similarity-matches');
      const cookie = await reviewerCookie(app);
      const list = await app.inject({ method: 'GET', url: `/review/submissions/${ids.copy}/similarity`, headers: { cookie } });
      expect(list.statusCode).toBe(200);
      expect(list.body).toContain(`href="/review/submissions/${ids.original}">Ada</a>`);
      const docId = /data-match="([0-9a-f-]{36})"/.exec(list.body.slice(list.body.indexOf('>Ada<') - 400))?.[1];
      const pair = await app.inject({ method: 'GET', url: `/review/submissions/${ids.copy}/similarity?with=${docId}`, headers: { cookie } });
      expect(pair.statusCode).toBe(200);
      expect(pair.body).toMatch(/Side by side with Ada: \d+ shared fragment/);
      // Both columns mark shared lines; the candidate's code is escaped text inside our markup.
      expect(pair.body.match(/data-shared="1"/g)!.length).toBeGreaterThan(10);
      expect(pair.body).not.toContain('<script');
    } finally {
      await app.close();
    }
  });
});
